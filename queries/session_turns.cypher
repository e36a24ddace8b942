// The turns of one session in order.
// params: conversation (str) -- conversation id; session (int) -- session number, e.g. 1; namespace (str) -- bound by kg-memory
MATCH (s:Session)-[h:HAS_TURN]->(t:Turn)
WHERE s.namespace = $namespace AND s.conversation = $conversation
  AND s.index = toInteger($session) AND t.namespace = $namespace
RETURN coalesce(h.position, t.position) AS position, t.turn_id AS turn_id, t.speaker AS speaker,
       t.date_time AS date_time, t.utterance AS text, t.id AS id
ORDER BY position, id
