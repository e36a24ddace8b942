// The topic clusters of one conversation, largest first, with their keywords and member turns.
// params: conversation (str) -- conversation id; namespace (str) -- bound by kg-memory
MATCH (t:Topic)
WHERE t.namespace = $namespace AND t.conversation = $conversation
CALL (t) {
  MATCH (m:Turn)-[r:IN_TOPIC]->(t)
  WHERE m.namespace = $namespace
  WITH m, r ORDER BY r.p DESC, m.id
  RETURN collect({turn_id: m.turn_id, speaker: m.speaker, p: r.p}) AS turns
}
RETURN t.index AS topic, t.keywords AS keywords, t.size AS size, t.sessions AS sessions,
       t.text AS text, turns
ORDER BY size DESC, topic
