// One entity's facts and events in time order (by name or alias, case-insensitive).
// time is a DATE: the fact's or event's own begin, else the day it was said (said_at,
// the LOCAL DATETIME of its earliest evidence turn).
// params: name (str) -- entity name or alias, e.g. Caroline; namespace (str) -- bound by kg-memory
MATCH (e:Entity)
WHERE e.namespace = $namespace
  AND (toLower(e.name) = toLower($name)
       OR any(alias IN coalesce(e.aliases, []) WHERE toLower(alias) = toLower($name)))
CALL (e) {
  MATCH (f:Fact)-[role:SUBJECT|OBJECT]->(e)
  WHERE f.namespace = $namespace
  OPTIONAL MATCH (f)-[:EVIDENCED_BY]->(t:Turn) WHERE t.namespace = $namespace
  WITH f, role, min(t.date_time) AS said_at, collect(DISTINCT t.turn_id) AS turn_ids
  RETURN 'fact' AS kind, type(role) AS role, f.id AS id, f.text AS text,
         coalesce(f.begin, date(said_at)) AS time, said_at, turn_ids, f.conversation AS conversation
  UNION
  MATCH (ev:Event)-[:PARTICIPANT]->(e)
  WHERE ev.namespace = $namespace
  OPTIONAL MATCH (ev)-[:EVIDENCED_BY]->(t:Turn) WHERE t.namespace = $namespace
  WITH ev, min(t.date_time) AS said_at, collect(DISTINCT t.turn_id) AS turn_ids
  RETURN 'event' AS kind, 'PARTICIPANT' AS role, ev.id AS id,
         coalesce(ev.description, ev.text) AS text,
         coalesce(ev.begin, date(said_at)) AS time, said_at, turn_ids, ev.conversation AS conversation
}
RETURN e.name AS entity, kind, role, time, said_at, text, turn_ids, conversation, id
ORDER BY time, said_at, kind, id
