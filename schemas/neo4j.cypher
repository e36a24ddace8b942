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

// Vector indexes, one per label, named <label in snake_case>_embedding.
// Cosine similarity, HNSW without quantisation (better candidate recall; the
// store re-ranks candidates exactly with the stored vectors anyway).
// ef_construction 32 (Neo4j's default is 100): building the graph is most of a
// vector's write cost (Lucene scores candidates with scalar code on Java 17),
// and 32 cut it by about 40% (0.95 -> 0.56 s for the 7,306 LoCoMo vectors) with
// no change in what retrieval returns: the store asks for 10x the candidates it
// needs and re-ranks them exactly (make bench-neo4j: same top-20 on both stores).
// An index created before keeps its settings (IF NOT EXISTS).
// 384 dimensions: all-MiniLM-L6-v2. A vector of another length is not indexed
// (the store refuses to search a scope whose stored vectors differ from the query).
// Turn, Note and Event vectors are what retrieval uses; the others are ready
// for summaries, topics, sessions, facts, entities and hyperedges.
CREATE VECTOR INDEX turn_embedding IF NOT EXISTS
FOR (n:Turn) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX note_embedding IF NOT EXISTS
FOR (n:Note) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX event_embedding IF NOT EXISTS
FOR (n:Event) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX fact_embedding IF NOT EXISTS
FOR (n:Fact) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX entity_embedding IF NOT EXISTS
FOR (n:Entity) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX summary_embedding IF NOT EXISTS
FOR (n:Summary) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX topic_embedding IF NOT EXISTS
FOR (n:Topic) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX session_embedding IF NOT EXISTS
FOR (n:Session) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX hyperedge_embedding IF NOT EXISTS
FOR (n:Hyperedge) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX conversation_embedding IF NOT EXISTS
FOR (n:Conversation) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX time_interval_embedding IF NOT EXISTS
FOR (n:TimeInterval) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};

CREATE VECTOR INDEX note_revision_embedding IF NOT EXISTS
FOR (n:NoteRevision) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};
