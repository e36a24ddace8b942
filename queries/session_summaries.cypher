// The session summaries of one conversation in session order, each with the topics it falls in.
// params: conversation (str) -- conversation id; namespace (str) -- bound by kg-memory
MATCH (s:Summary)-[:SUMMARIZES]->(ses:Session)
WHERE s.namespace = $namespace AND s.conversation = $conversation
  AND ses.namespace = $namespace
CALL (s) {
  OPTIONAL MATCH (s)-[r:IN_TOPIC]->(t:Topic)
  WHERE t.namespace = $namespace
  WITH r, t ORDER BY r.share DESC, t.id
  RETURN collect(CASE WHEN t IS NOT NULL
                 THEN {topic: t.index, keywords: t.keywords, share: r.share} END) AS topics
}
RETURN ses.index AS session, ses.date_time AS date_time, s.keywords AS keywords,
       s.quoted AS quoted, s.text AS text, topics
ORDER BY session
