// One turn with its neighbouring turns, the entities it mentions and the nodes derived from it.
// params: turn_id (str) -- source turn id, e.g. D1:3; conversation (str) -- conversation id; namespace (str) -- bound by kg-memory
MATCH (t:Turn)
WHERE t.namespace = $namespace AND t.conversation = $conversation
  AND toString(t.turn_id) = toString($turn_id)
OPTIONAL MATCH (prev:Turn)-[:NEXT_TURN]->(t) WHERE prev.namespace = $namespace
OPTIONAL MATCH (t)-[:NEXT_TURN]->(next:Turn) WHERE next.namespace = $namespace
RETURN t.turn_id AS turn_id, t.speaker AS speaker, t.session AS session,
       t.date_time AS date_time, t.utterance AS text,
       prev.turn_id AS previous_turn, prev.utterance AS previous_text,
       next.turn_id AS next_turn, next.utterance AS next_text,
       [(t)-[:MENTIONS|SPOKEN_BY|ADDRESSES]->(e:Entity) WHERE e.namespace = $namespace | e.name] AS entities,
       [(d)-[:EVIDENCED_BY]->(t) WHERE d.namespace = $namespace
          | {label: d.label, id: d.id, text: d.text}] AS derived,
       t.id AS id
