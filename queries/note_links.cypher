// One note with the notes it links to or is linked from, and its revisions in order.
// params: note (str) -- a Note id, or the source turn id it was written from (e.g. D1:3); namespace (str) -- bound by kg-memory
MATCH (n:Note)
WHERE n.namespace = $namespace
  AND (n.id = toString($note) OR toString($note) IN coalesce(n.turn_ids, []))
CALL (n) {
  OPTIONAL MATCH (n)-[l:LINKS_TO]-(m:Note)
  WHERE m.namespace = $namespace
  WITH l, m ORDER BY l.similarity DESC, m.id
  RETURN collect(CASE WHEN m IS NULL THEN null ELSE {
           direction: CASE WHEN startNode(l) = m THEN 'in' ELSE 'out' END,
           note: m.id, content: m.content, similarity: l.similarity,
           shared_entities: l.shared_entities} END) AS links
}
CALL (n) {
  OPTIONAL MATCH (r:NoteRevision)-[:REVISION_OF]->(n) WHERE r.namespace = $namespace
  WITH r ORDER BY r.revision
  RETURN collect(CASE WHEN r IS NULL THEN null ELSE {
           revision: r.revision, reason: r.reason, new_tags: r.new_tags,
           new_context: r.new_context, turn_ids: r.turn_ids} END) AS revisions
}
RETURN n.id AS id, n.content AS content, n.tags AS tags, n.context AS context,
       n.turn_ids AS turn_ids, links, revisions
ORDER BY id
