/*
 * Local Neo4j 5.26 Community server for kg-memory development, tests and CI.
 *
 * Embeds Neo4j with DatabaseManagementServiceBuilder and exposes Bolt on
 * 127.0.0.1:PORT and, unless HTTP_PORT is 0, the HTTP connector on 127.0.0.1:HTTP_PORT
 * serving Neo4j Browser only (the browser module; no HTTP Cypher endpoints), with
 * authentication enabled (user "neo4j"). Data persists in HOME/data across restarts.
 * Runs until SIGTERM / SIGINT, then shuts down cleanly.
 *
 * Usage (normally via scripts/neo4j-server):
 *   java [jvm flags] -cp 'classes:lib/*' KgMemoryNeo4jServer [--home DIR] [--port N]
 *        [--http-port N] [--password PW] [--page-cache SIZE_MB]
 * Defaults come from the env vars KG_MEMORY_NEO4J_HOME, KG_MEMORY_NEO4J_PORT, KG_MEMORY_NEO4J_HTTP_PORT,
 * KG_MEMORY_NEO4J_PASSWORD (pass the password by env: argv is visible in ps).
 *
 * Password handling:
 *  - before the very first start (no system database yet) the initial user is written
 *    to HOME/data/dbms/auth.ini, exactly as `neo4j-admin dbms set-initial-password`
 *    does, so the server never accepts the default neo4j/neo4j credentials;
 *  - on later starts, if the configured password is rejected over Bolt (data directory
 *    created with another password), it is reset through the system database
 *    (ALTER USER neo4j SET PASSWORD ... CHANGE NOT REQUIRED): the configured password
 *    is authoritative.
 *
 * Once Bolt answers (checked with the bundled Java driver: authenticated session +
 * RETURN 1) it prints the line "KG_MEMORY_NEO4J_READY bolt://127.0.0.1:PORT".
 */

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

import org.neo4j.configuration.Config;
import org.neo4j.configuration.GraphDatabaseSettings;
import org.neo4j.configuration.connectors.BoltConnector;
import org.neo4j.configuration.GraphDatabaseInternalSettings;
import org.neo4j.configuration.connectors.HttpConnector;
import org.neo4j.configuration.connectors.HttpsConnector;
import org.neo4j.configuration.helpers.SocketAddress;
import org.neo4j.dbms.api.DatabaseManagementService;
import org.neo4j.dbms.api.DatabaseManagementServiceBuilder;
import org.neo4j.driver.AuthTokens;
import org.neo4j.driver.Driver;
import org.neo4j.driver.GraphDatabase;
import org.neo4j.driver.Logging;
import org.neo4j.driver.Session;
import org.neo4j.driver.exceptions.AuthenticationException;
import org.neo4j.graphdb.GraphDatabaseService;
import org.neo4j.io.ByteUnit;
import org.neo4j.io.fs.DefaultFileSystemAbstraction;
import org.neo4j.kernel.impl.security.User;
import org.neo4j.logging.Level;
import org.neo4j.logging.NullLogProvider;
import org.neo4j.logging.log4j.Log4jLogProvider;
import org.neo4j.memory.EmptyMemoryTracker;
import org.neo4j.server.configuration.ConfigurableServerModules;
import org.neo4j.server.configuration.ServerSettings;
import org.neo4j.server.security.SecureHasher;
import org.neo4j.server.security.SystemGraphCredential;
import org.neo4j.server.security.auth.CommunitySecurityModule;
import org.neo4j.server.security.auth.FileUserRepository;

public final class KgMemoryNeo4jServer {
    private static final String USER = "neo4j";
    private static final String HOST = "127.0.0.1";
    /** The procedures kg-memory calls (dbms.queryJmx: the server CPU time of `make bench-writes`). */
    private static final java.util.List<String> PROCEDURES = java.util.List.of(
            "db.labels", "db.relationshipTypes", "db.propertyKeys", "db.awaitIndexes", "db.awaitIndex",
            "db.index.fulltext.queryNodes", "db.index.vector.queryNodes",
            "db.create.setNodeVectorProperty", "dbms.queryJmx");

    public static void main(String[] args) {
        try {
            run(args);
        } catch (Throwable t) {
            log("FAILED: " + t);
            t.printStackTrace(System.out);
            System.out.flush();
            System.exit(1); // runs the shutdown hook if Neo4j was started
        }
    }

    private static void run(String[] args) throws Exception {
        Path home = Path.of(env("KG_MEMORY_NEO4J_HOME", "build/neo4j"));
        int port = Integer.parseInt(env("KG_MEMORY_NEO4J_PORT", "17687"));
        int httpPort = Integer.parseInt(env("KG_MEMORY_NEO4J_HTTP_PORT", "17474"));
        String password = env("KG_MEMORY_NEO4J_PASSWORD", "kgmemory-test");
        long pageCacheMb = Long.parseLong(env("KG_MEMORY_NEO4J_PAGECACHE_MB", "256"));
        long txMaxBytes = ByteUnit.mebiBytes(Long.parseLong(env("KG_MEMORY_NEO4J_TX_MAX_MB", "256")));
        long txTotalBytes = ByteUnit.mebiBytes(Long.parseLong(env("KG_MEMORY_NEO4J_TX_TOTAL_MB", "512")));
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            switch (a) {
                case "--home": home = Path.of(require(a, v)); i++; break;
                case "--port": port = Integer.parseInt(require(a, v)); i++; break;
                case "--http-port": httpPort = Integer.parseInt(require(a, v)); i++; break;
                case "--password": password = require(a, v); i++; break;
                case "--page-cache-mb": pageCacheMb = Long.parseLong(require(a, v)); i++; break;
                default:
                    System.err.println("unknown argument: " + a);
                    System.exit(2);
            }
        }
        if (password.codePointCount(0, password.length()) < 8) {
            // Neo4j's default dbms.security.auth_minimum_password_length is 8.
            System.err.println("password must be at least 8 characters");
            System.exit(2);
        }
        home = home.toAbsolutePath().normalize();
        Files.createDirectories(home);
        Instant t0 = Instant.now();
        log("starting Neo4j (home " + home + ", bolt " + HOST + ":" + port
                + (httpPort > 0 ? ", browser http://" + HOST + ":" + httpPort + "/browser/" : ", http off") + ")");

        boolean firstStart = !Files.exists(home.resolve("data/databases/system"));
        if (firstStart) {
            writeInitialPassword(home, password);
            log("first start: initial password for user '" + USER + "' written to data/dbms/auth.ini");
        }

        SocketAddress bolt = new SocketAddress(HOST, port);
        DatabaseManagementService dbms = new DatabaseManagementServiceBuilder(home)
                .setUserLogProvider(new Log4jLogProvider(System.out, Level.INFO))
                .setConfig(GraphDatabaseSettings.auth_enabled, true)
                .setConfig(GraphDatabaseSettings.default_listen_address, new SocketAddress(HOST))
                .setConfig(GraphDatabaseSettings.default_advertised_address, new SocketAddress(HOST))
                .setConfig(BoltConnector.enabled, true)
                .setConfig(BoltConnector.listen_address, bolt)
                .setConfig(BoltConnector.advertised_address, bolt)
                .setConfig(BoltConnector.encryption_level, BoltConnector.EncryptionLevel.DISABLED)
                // Neo4j Browser (the only HTTP module: no Cypher over HTTP, no unmanaged
                // extensions); it talks Bolt over a WebSocket to the Bolt port above.
                .setConfig(HttpConnector.enabled, httpPort > 0)
                .setConfig(HttpConnector.listen_address, new SocketAddress(HOST, Math.max(httpPort, 1)))
                .setConfig(HttpConnector.advertised_address, new SocketAddress(HOST, Math.max(httpPort, 1)))
                .setConfig(ServerSettings.http_enabled_modules, EnumSet.of(ConfigurableServerModules.BROWSER))
                .setConfig(ServerSettings.allow_telemetry, false) // the Browser's usage reports
                .setConfig(HttpsConnector.enabled, false)
                .setConfig(GraphDatabaseSettings.pagecache_memory, ByteUnit.mebiBytes(pageCacheMb))
                .setConfig(GraphDatabaseSettings.keep_logical_logs, "100M size")
                .setConfig(GraphDatabaseSettings.logical_log_rotation_threshold, ByteUnit.mebiBytes(32))
                .setConfig(GraphDatabaseSettings.preallocate_logical_logs, false)
                .setConfig(GraphDatabaseSettings.udc_enabled, false)
                // No lock-out after failed logins: tests deliberately use wrong passwords and must
                // not lock the real user out (default: 3 attempts, then 5 s lock).
                .setConfig(GraphDatabaseSettings.auth_max_failed_attempts, 0)
                // Defence in depth for the exploration Cypher (kg_memory/store/neo4j/guard.py is
                // the first line): LOAD CSV may not read files, and its import root is an empty
                // directory; only the procedures kg-memory calls are loaded. Community edition
                // has no role-based access control, so no read-only user can be made: every
                // authenticated user is an administrator, and admin commands (SHOW/TERMINATE
                // TRANSACTIONS) stay available to a client that bypasses kg-memory.
                .setConfig(GraphDatabaseSettings.allow_file_urls, false)
                .setConfig(GraphDatabaseSettings.load_csv_file_url_root, emptyImportDir(home))
                .setConfig(GraphDatabaseSettings.procedure_allowlist, PROCEDURES)
                // No single transaction (a huge question's search, a user query collecting the
                // whole graph) may take the heap: it fails with MemoryLimitExceeded instead.
                .setConfig(GraphDatabaseSettings.memory_transaction_max_size, txMaxBytes)
                .setConfig(GraphDatabaseSettings.memory_transaction_global_max_size, txTotalBytes)
                // Netty's graceful-shutdown quiet period (default 5 s per event loop group) made
                // every stop take ~10 s longer than needed.
                .setConfig(GraphDatabaseInternalSettings.netty_server_shutdown_quiet_period, 0)
                .build();

        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log("shutdown requested, stopping Neo4j");
            try {
                dbms.shutdown();
                log("Neo4j stopped");
            } catch (Throwable t) {
                log("error during shutdown: " + t);
            } finally {
                stopped.countDown();
            }
        }, "kg-memory-neo4j-shutdown"));

        GraphDatabaseService db = dbms.database(GraphDatabaseSettings.DEFAULT_DATABASE_NAME);
        if (!db.isAvailable(Duration.ofSeconds(60).toMillis())) {
            throw new IllegalStateException("default database did not become available");
        }

        String uri = "bolt://" + HOST + ":" + port;
        try {
            checkBolt(uri, password);
        } catch (AuthenticationException e) {
            // Existing data directory created with another password: the configured one wins.
            log("configured password rejected by the existing user store; resetting it");
            applyPassword(dbms.database(GraphDatabaseSettings.SYSTEM_DATABASE_NAME), password);
            checkBolt(uri, password);
        }
        log(String.format("started in %.1f s", Duration.between(t0, Instant.now()).toMillis() / 1000.0));
        if (httpPort > 0) {
            log("Neo4j Browser on http://" + HOST + ":" + httpPort + "/browser/");
        }
        System.out.println("KG_MEMORY_NEO4J_READY " + uri);
        System.out.flush();
        stopped.await();
    }

    /** Same as `neo4j-admin dbms set-initial-password`: HOME/data/dbms/auth.ini, read when the system db is created. */
    private static void writeInitialPassword(Path home, String password) throws Exception {
        Config config = Config.newBuilder().set(GraphDatabaseSettings.neo4j_home, home).build();
        Path file = CommunitySecurityModule.getInitialUserRepositoryFile(config);
        Files.createDirectories(file.getParent());
        Files.deleteIfExists(file);
        try (DefaultFileSystemAbstraction fs = new DefaultFileSystemAbstraction()) {
            FileUserRepository repo = new FileUserRepository(
                    fs, file, NullLogProvider.getInstance(), EmptyMemoryTracker.INSTANCE);
            repo.start();
            SystemGraphCredential credential = SystemGraphCredential.createCredentialForPassword(
                    password.getBytes(StandardCharsets.UTF_8), new SecureHasher());
            repo.create(new User(USER, null, credential, false, false));
            repo.shutdown();
        }
    }

    /** HOME/import, emptied: the only directory LOAD CSV could read (file URLs are off anyway). */
    private static Path emptyImportDir(Path home) throws Exception {
        Path dir = home.resolve("import");
        Files.createDirectories(dir);
        try (var entries = Files.list(dir)) {
            for (Path p : (Iterable<Path>) entries::iterator) {
                Files.delete(p);
            }
        }
        return dir;
    }

    /** Make the configured password authoritative for an existing data directory. */
    private static void applyPassword(GraphDatabaseService system, String password) {
        try {
            system.executeTransactionally(
                    "ALTER USER " + USER + " SET PASSWORD $pw CHANGE NOT REQUIRED", Map.of("pw", password));
            log("password for user '" + USER + "' applied");
        } catch (RuntimeException e) {
            String msg = String.valueOf(e.getMessage());
            if (msg.contains("Old password and new password cannot be the same")) {
                log("password for user '" + USER + "' unchanged");
            } else {
                throw e;
            }
        }
    }

    /** Open a real authenticated Bolt session against ourselves. */
    private static void checkBolt(String uri, String password) {
        org.neo4j.driver.Config cfg = org.neo4j.driver.Config.builder()
                .withLogging(Logging.none())
                .withoutEncryption()
                .withConnectionTimeout(10, java.util.concurrent.TimeUnit.SECONDS)
                .build();
        try (Driver driver = GraphDatabase.driver(uri, AuthTokens.basic(USER, password), cfg);
                Session session = driver.session()) {
            long one = session.run("RETURN 1 AS one").single().get("one").asLong();
            if (one != 1) {
                throw new IllegalStateException("unexpected Bolt self-check result " + one);
            }
        }
        log("Bolt self-check ok (authenticated session on " + uri + ")");
    }

    private static String env(String name, String dflt) {
        String v = System.getenv(name);
        return v == null || v.isEmpty() ? dflt : v;
    }

    private static String require(String flag, String value) {
        if (value == null) {
            System.err.println(flag + " needs a value");
            System.exit(2);
        }
        return value;
    }

    private static void log(String msg) {
        System.out.println(Instant.now() + " [kg-memory-neo4j] " + msg);
        System.out.flush();
    }

    private KgMemoryNeo4jServer() {}
}
