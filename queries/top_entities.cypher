// The most mentioned entities, with how many turns and conversations mention them.
// params: k (int) -- how many entities; namespace (str) -- bound by kg-memory
MATCH (t:Turn)-[m:MENTIONS]->(e:Entity)
WHERE e.namespace = $namespace AND t.namespace = $namespace
RETURN e.name AS entity, e.type AS type, count(m) AS mentions,
       count(DISTINCT t.conversation) AS conversations, e.id AS id
ORDER BY mentions DESC, entity, id
LIMIT toInteger($k)
