// The vector index of one node label: Neo4jStore.schema_statements() applies it
// for every label of kg_memory.ingest.registry.vector_labels(), with <name> =
// <label in snake_case>_embedding and <label> the label.
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
// Turn, Event, Hyperedge, Summary and Topic nodes carry vectors (Notes reuse their
// turns' vectors and store none).
CREATE VECTOR INDEX <name> IF NOT EXISTS
FOR (n:<label>) ON n.embedding
OPTIONS {indexConfig: {`vector.dimensions`: 384, `vector.similarity_function`: 'cosine', `vector.quantization.enabled`: false, `vector.hnsw.m`: 16, `vector.hnsw.ef_construction`: 32}};
