// kg-memory schema for Neo4j 5.26+ (Community or Enterprise).
//
// Applied by Neo4jStore at every connect: statements are separated by ';' and
// every one is IF NOT EXISTS, so applying it again (or from two processes at
// once) is a no-op. The store then waits for the indexes (db.awaitIndexes).
//
// Every node kg-memory writes carries the label :Memory plus its own label
// (:Turn, :Entity, ...) and the properties id, namespace, label,
// conversation (absent for namespace-level nodes), text, ntok (token count of
// text), and each prop as a property of its own when Neo4j holds it exactly (a
// scalar or a non-empty homogeneous list); the other props (null, maps, empty
// or mixed lists, reserved names) are one JSON string, props_extra.
// Nodes with text also carry ftext (text normalised by kg_memory.text.tokenize,
// tokens joined by single spaces) and fscope (hashed scope tokens); nodes with a
// vector carry embedding (LIST<FLOAT>), embedding_f32 (the exact float32 bytes)
// and vdim (its length). Relationships carry their props the same way; their
// namespace is their ends' (an edge never joins two namespaces).

// One node per id across the whole database (ids embed the namespace). Also the
// index behind every MERGE / MATCH (n:Memory {id: ...}).
CREATE CONSTRAINT memory_id IF NOT EXISTS
FOR (n:Memory) REQUIRE n.id IS UNIQUE;

// One write-lock node per namespace (not :Memory, so no read or count sees it): an
// ingest takes it first in its write transaction (MERGE, then SET), so two ingests
// into one namespace take turns instead of colliding on memory_id.
CREATE CONSTRAINT write_lock_namespace IF NOT EXISTS
FOR (l:WriteLock) REQUIRE l.namespace IS UNIQUE;

// Namespace scans: namespaces(), counts(namespace), delete_namespace().
CREATE INDEX memory_namespace IF NOT EXISTS
FOR (n:Memory) ON (n.namespace);

// Scope of one label: find_nodes, text_stats, the in-scope vector count.
CREATE INDEX memory_namespace_label IF NOT EXISTS
FOR (n:Memory) ON (n.namespace, n.label);

// One conversation: conversations(), delete_conversation().
CREATE INDEX memory_namespace_conversation IF NOT EXISTS
FOR (n:Memory) ON (n.namespace, n.conversation);

// One label of one conversation: find_nodes / text_stats with a conversation.
CREATE INDEX memory_namespace_label_conversation IF NOT EXISTS
FOR (n:Memory) ON (n.namespace, n.label, n.conversation);

// Time-ordered reads in the named queries (sessions, turns, events, intervals).
CREATE INDEX session_date_time IF NOT EXISTS
FOR (n:Session) ON (n.date_time);

CREATE INDEX turn_date_time IF NOT EXISTS
FOR (n:Turn) ON (n.date_time);

CREATE INDEX event_begin IF NOT EXISTS
FOR (n:Event) ON (n.begin);

CREATE INDEX time_interval_begin IF NOT EXISTS
FOR (n:TimeInterval) ON (n.begin);

// Entity lookups by name (entity_timeline, top_entities).
CREATE INDEX entity_name IF NOT EXISTS
FOR (n:Entity) ON (n.name);

// Keyword candidates for every label (Turn, Note, Fact, Event, Entity, ...).
// It indexes ftext, the text already normalised by kg-memory's tokenizer, with
// the whitespace analyzer: Lucene then sees exactly the tokens the shared BM25
// scorer counts, so candidates agree with the embedded store's FTS5 index even
// for punctuation and non-ASCII text. fscope holds hashed namespace / label /
// conversation tokens so that the scope is filtered inside Lucene, before any
// limit. Not eventually consistent: a committed write is searchable at once.
CREATE FULLTEXT INDEX memory_text IF NOT EXISTS
FOR (n:Memory) ON EACH [n.ftext, n.fscope]
OPTIONS {indexConfig: {
  `fulltext.analyzer`: 'whitespace',
  `fulltext.eventually_consistent`: false
}};

// Vector indexes: one per node label that an ingest stage declares it writes with
// embeddings (StageSpec.vectors, kg_memory.ingest.registry.vector_labels()), made
// from the template neo4j-vector-index.cypher; the other labels' indexes (created by
// earlier versions, always empty) are dropped (DROP INDEX ... IF EXISTS). A vector on
// a node of another label is still stored, and searched by reading the scope's vectors.
