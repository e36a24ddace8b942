// The hyperedges of one conversation with their members and roles.
// params: conversation (str) -- conversation id; namespace (str) -- bound by kg-memory
MATCH (h:Hyperedge)
WHERE h.namespace = $namespace AND h.conversation = $conversation
CALL (h) {
  MATCH (h)-[m:MEMBER]->(x:Memory)
  WHERE x.namespace = $namespace
  WITH m, x ORDER BY m.role, x.id
  RETURN collect({role: m.role, label: x.label, id: x.id,
                  name: coalesce(x.name, x.turn_id, x.description, x.text)}) AS members
}
RETURN h.id AS id, h.kind AS kind, h.text AS text, h.member_count AS member_count,
       h.turn_ids AS turn_ids, members
ORDER BY id
