// The events of one conversation in time order, with their NEXT and CAUSES links.
// next lists {event, subject}: one NEXT per speaker whose time line the event is on.
// date is a DATE: the day the event was told (said_at, its session's LOCAL DATETIME),
// else its own begin.
// params: conversation (str) -- conversation id; namespace (str) -- bound by kg-memory
MATCH (ev:Event)
WHERE ev.namespace = $namespace AND ev.conversation = $conversation
RETURN ev.id AS id, coalesce(date(ev.date), ev.begin) AS date, ev.date AS said_at,
       ev.begin AS begin, ev.end AS end,
       coalesce(ev.description, ev.text) AS description, ev.participants AS participants,
       [(ev)-[n:NEXT]->(x:Event) WHERE x.namespace = $namespace | {event: x.id, subject: n.subject}] AS next,
       [(ev)-[c:CAUSES]->(x:Event) WHERE x.namespace = $namespace | {event: x.id, marker: c.marker}] AS causes,
       [(x:Event)-[:CAUSES]->(ev) WHERE x.namespace = $namespace | x.id] AS caused_by,
       [(ev)-[:SUBEVENT_OF]->(p:Event) WHERE p.namespace = $namespace | p.id] AS part_of,
       ev.turn_ids AS turn_ids
ORDER BY date, said_at, ev.session, begin, id
