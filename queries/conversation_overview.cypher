// Sessions of one conversation with their dates, speakers and turn counts.
// params: conversation (str) -- conversation id, e.g. conv-26; namespace (str) -- bound by kg-memory
MATCH (c:Conversation)-[:HAS_SESSION]->(s:Session)
WHERE c.namespace = $namespace AND c.conversation = $conversation
  AND s.namespace = $namespace
OPTIONAL MATCH (s)-[:HAS_TURN]->(t:Turn) WHERE t.namespace = $namespace
WITH s, count(t) AS turns, collect(DISTINCT t.speaker) AS speakers
RETURN s.index AS session, s.date_time AS date_time, turns, speakers, s.id AS id
ORDER BY s.index, s.date_time, id
