import ArgumentParser
import CMalloc
import Logging
import Metrics
import Prometheus
import RayBridge
import RayBridgeClients
import RayBridgeCore
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the sidecar: watch the ConfigMap, drive the Ray job, publish its status.",
        discussion: """
            Every option can also be set through the environment variable named in its help.

            Example:
              raybridge run --config-dir /etc/raybridge/config --status-dir /status --job-name my-job
            """
    )

    @Option(help: "The mounted ConfigMap directory to watch. [env: RAYBRIDGE_CONFIG_DIR]")
    var configDir: String?

    @Option(help: "The shared emptyDir where status files (and raybridge's hidden journal) are written. [env: RAYBRIDGE_STATUS_DIR]")
    var statusDir: String?

    @Option(
        help: "The job's name: prefix of submission ids and default S3 prefix. Letters, digits, '-', '_', '.'. [env: RAYBRIDGE_JOB_NAME or JOBNAME]")
    var jobName: String?

    @Option(
        help:
            "Directory with the S3 Secret's files accesskey, secretkey, optional sessiontoken. [env: RAYBRIDGE_S3_CREDENTIALS_DIR] (default: /s3credentials)"
    )
    var s3CredentialsDir: String?

    @Option(help: "Directory with the Ray Secret's file token, sent as a Bearer token. [env: RAYBRIDGE_RAY_CREDENTIALS_DIR] (default: /credentials)")
    var rayCredentialsDir: String?

    @Option(
        help:
            "File of extra headers sent with every request to the Ray dashboard, one 'Name: value' a line (for an authenticating proxy in front of it); the values are secrets like the token; re-read when it changes (mount it from a Secret). [env: RAYBRIDGE_RAY_HEADERS_FILE]"
    )
    var rayHeadersFile: String?

    @Option(
        help:
            "PEM file of CA certificates trusted for https to Ray and S3, on top of the system's; re-read when it changes (mount it from a Secret or ConfigMap). [env: RAYBRIDGE_CA_FILE]"
    )
    var caFile: String?

    @Option(help: "Serve /healthz, /readyz and /metrics on ADDR:PORT, e.g. 0.0.0.0:9533. Off when not given. [env: RAYBRIDGE_LISTEN]")
    var listen: String?

    @Option(
        help:
            "Size of the first 2,000 parts of the log's multipart upload in MiB (S3's minimum is 5); parts double in size every 2,000 parts after that. [env: RAYBRIDGE_PART_SIZE_MIB] (default: 5)"
    )
    var partSizeMib: Int?

    @Flag(help: "Exit 0 when the run SUCCEEDED, 1 when it FAILED or was STOPPED (for Job-style pods). [env: RAYBRIDGE_EXIT_ON_COMPLETION]")
    var exitOnCompletion = false

    @Flag(
        help:
            "On SIGTERM also stop the current Ray run (by default it keeps running and a restarted sidecar attaches to it again). [env: RAYBRIDGE_STOP_ON_EXIT]"
    )
    var stopOnExit = false

    @Flag(
        help:
            "Also write each run's driver log, as Ray has it, to standard output (whole lines), so `kubectl logs` shows it, with or without S3; raybridge's own lines stay on standard error. [env: RAYBRIDGE_DRIVER_LOG_STDOUT]"
    )
    var driverLogStdout = false

    @Option(
        help:
            "Seconds a shutdown (SIGTERM) waits for the logs of runs that are over to be complete in S3; logs of runs still going are left for the next start. Keep it below the pod's terminationGracePeriodSeconds (30 by default). [env: RAYBRIDGE_DRAIN_TIMEOUT] (default: 20)"
    )
    var drainTimeout: Int?

    @Option(
        help:
            "Longest wait, in seconds, between two checks with Ray for the end of an old, silent run. Runs under 5 minutes old are checked every 2.5 s; an older one every 1 % of its age, up to this. Lower: old runs' ends show sooner; higher: each costs the Ray head less. [env: RAYBRIDGE_END_CHECK_CAP] (default: 15)"
    )
    var endCheckCap: Double?

    @Option(help: "Log format: text or json. [env: RAYBRIDGE_LOG_FORMAT]")
    var logFormat: LogFormat?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical. [env: RAYBRIDGE_LOG_LEVEL]")
    var logLevel: Logger.Level?

    func run() async throws {
        // A log streaming through (64 KiB reads, parts of several MiB) otherwise leaves glibc's heaps
        // fragmented across per-thread arenas and never trimmed: peak RSS on a 256 MiB log was
        // 77 MiB (release build) with the defaults, 48 MiB with these. Buffers of 32 KiB and more
        // are mmapped and given back on free; two arenas are plenty for this process.
        _ = mallopt(M_ARENA_MAX, 2)
        _ = mallopt(M_MMAP_THRESHOLD, 32 << 10)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 20)
        let format = try logFormat ?? Environment.parse("RAYBRIDGE_LOG_FORMAT", as: { LogFormat(rawValue: $0) }, "text or json") ?? .text
        let level =
            try logLevel ?? Environment.parse(
                "RAYBRIDGE_LOG_LEVEL", as: { Logger.Level(rawValue: $0) }, "one of trace, debug, info, notice, warning, error, critical") ?? .info
        format.bootstrap(level: level)
        let logger = Logger(label: "raybridge")

        guard let configDir = configDir ?? Environment.value("RAYBRIDGE_CONFIG_DIR") else {
            throw ValidationError("--config-dir (or RAYBRIDGE_CONFIG_DIR) is required: the mounted ConfigMap directory")
        }
        guard let statusDir = statusDir ?? Environment.value("RAYBRIDGE_STATUS_DIR") else {
            throw ValidationError("--status-dir (or RAYBRIDGE_STATUS_DIR) is required: the shared emptyDir for status files")
        }
        guard let jobName = jobName ?? Environment.value("RAYBRIDGE_JOB_NAME", "JOBNAME") else {
            throw ValidationError("--job-name (or RAYBRIDGE_JOB_NAME / JOBNAME) is required: it names the Ray submissions of this job")
        }
        if let problem = JobName.problem(jobName) {
            throw ValidationError("--job-name \"\(jobName)\" \(problem)")
        }
        let rayCredentialsDir = rayCredentialsDir ?? Environment.value("RAYBRIDGE_RAY_CREDENTIALS_DIR") ?? "/credentials"
        let s3CredentialsDir = s3CredentialsDir ?? Environment.value("RAYBRIDGE_S3_CREDENTIALS_DIR") ?? "/s3credentials"
        let exitOnCompletion = exitOnCompletion || Environment.flag("RAYBRIDGE_EXIT_ON_COMPLETION")
        let partSizeMib = try partSizeMib ?? Environment.parse("RAYBRIDGE_PART_SIZE_MIB", as: { Int($0) }, "a whole number of MiB") ?? 5
        guard partSizeMib >= 5, partSizeMib <= 5 * 1024 else {
            throw ValidationError("--part-size-mib must be from 5 (S3's minimum part size) to 5120, found \(partSizeMib)")
        }

        let drainTimeout = try drainTimeout ?? Environment.parse("RAYBRIDGE_DRAIN_TIMEOUT", as: { Int($0) }, "a whole number of seconds") ?? 20
        guard drainTimeout >= 1, drainTimeout <= 3600 else {
            throw ValidationError("--drain-timeout must be from 1 to 3600 seconds, found \(drainTimeout)")
        }
        let endCheckCap = try endCheckCap ?? Environment.parse("RAYBRIDGE_END_CHECK_CAP", as: { Double($0) }, "a number of seconds") ?? 15
        guard endCheckCap >= 1, endCheckCap <= 3600 else {
            throw ValidationError("--end-check-cap must be from 1 to 3600 seconds, found \(endCheckCap)")
        }
        // Undocumented on purpose: only `make bench` sets it, to measure the pace of old runs on
        // runs it just started (seconds added to every run's age).
        let runAgeOffset = try Environment.parse("RAYBRIDGE_BENCH_RUN_AGE_OFFSET", as: { Double($0) }, "a number of seconds") ?? 0
        guard runAgeOffset >= 0, runAgeOffset <= 366 * 86400 else {
            throw ValidationError("RAYBRIDGE_BENCH_RUN_AGE_OFFSET must be from 0 to a year in seconds, found \(runAgeOffset)")
        }
        // Undocumented on purpose: the integration tests shorten the product's real 10 s and 20 s
        // retry backoffs with it (a factor, 1 in production).
        let backoffScale = try Environment.parse("RAYBRIDGE_TEST_BACKOFF_SCALE", as: { Double($0) }, "a factor from 0.001 to 1") ?? 1
        guard backoffScale >= 0.001, backoffScale <= 1 else {
            throw ValidationError("RAYBRIDGE_TEST_BACKOFF_SCALE must be from 0.001 to 1, found \(backoffScale)")
        }

        let listen = listen ?? Environment.value("RAYBRIDGE_LISTEN")
        let caFile = caFile ?? Environment.value("RAYBRIDGE_CA_FILE")
        let rayHeadersFile = rayHeadersFile ?? Environment.value("RAYBRIDGE_RAY_HEADERS_FILE")
        let stopOnExit = stopOnExit || Environment.flag("RAYBRIDGE_STOP_ON_EXIT")
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[RayBridgeMetrics.jobDurationLabel] = RayBridgeMetrics.jobDurationBuckets
        MetricsSystem.bootstrap(factory)
        // A read-only root without a /tmp emptyDir: the inotify thread's wake-up directory goes here.
        InotifyThread.fallbackWakeBase.withLock { $0 = statusDir + "/.raybridge-tmp" }
        let health = HealthState()
        let healthServer = try listen.map {
            try HealthServer(
                listen: $0, health: health, registry: registry, logger: logger,
                liveness: { InotifyThread.shared.isRunning ? nil : "the inotify thread is not running" })
        }

        var logShipping = LogShippingConfiguration(partSize: partSizeMib << 20)
        // Undocumented on purpose: only `make bench` sets it, to compare with UNSIGNED-PAYLOAD.
        logShipping.signsPayload = Environment.flag("RAYBRIDGE_S3_SIGN_PAYLOAD")
        logShipping.endCheckCap = .milliseconds(Int64((endCheckCap * 1000).rounded()))
        logShipping.runAgeOffset = .milliseconds(Int64((runAgeOffset * 1000).rounded()))
        // One client for Ray and S3, shut down after the services, also when starting them failed.
        let http = HTTPClientFactory.make()
        func serve() async throws -> Int32? {
            let reconciler = try Reconciler(
                settings: .init(
                    machine: .init(
                        jobName: jobName, exitOnCompletion: exitOnCompletion, stopOnExit: stopOnExit, drainTimeout: .seconds(drainTimeout),
                        backoffScale: backoffScale, driverLogStdout: driverLogStdout || Environment.flag("RAYBRIDGE_DRIVER_LOG_STDOUT")),
                    statusDirectory: statusDir,
                    rayCredentials: RayCredentials(
                        directory: rayCredentialsDir, headersFile: rayHeadersFile.map { RayHeadersFile(path: $0, logger: logger) }),
                    s3Credentials: S3CredentialsFile(directory: s3CredentialsDir), s3Environment: ProcessInfo.processInfo.environment,
                    logShipping: logShipping, caFile: caFile),
                http: http, health: health, logger: logger)
            let watcher = DirectoryWatcher(directory: configDir, logger: logger)
            logger.info(
                "raybridge \(RayBridgeVersion.string) starting",
                metadata: [
                    "configDir": "\(configDir)", "statusDir": "\(statusDir)", "job": "\(jobName)", "caFile": "\(caFile ?? "-")",
                    "rayHeadersFile": "\(rayHeadersFile ?? "-")",
                ])

            let sidecar = SidecarService(reconciler: reconciler, watcher: watcher)
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: sidecar, successTerminationBehavior: .gracefullyShutdownGroup)
            ]
            if let healthServer { services.append(.init(service: healthServer)) }
            var groupConfiguration = ServiceGroupConfiguration(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint, .sighup], logger: logger)
            // SIGHUP too: a sidecar has no terminal to reload from; killed by it (the default) it
            // would leave uploads unrecorded. It shuts down like SIGTERM.
            // The reconciler bounds its own drain (--drain-timeout); the group cancels it shortly
            // after that if something hangs, and Kubernetes' SIGKILL comes at
            // terminationGracePeriodSeconds (30 s by default; 20 + 2 + 0.5 fit in it).
            groupConfiguration.maximumGracefulShutdownDuration = .seconds(drainTimeout + 2)
            groupConfiguration.maximumCancellationDuration = .milliseconds(500)
            let group = ServiceGroup(configuration: groupConfiguration)
            try await group.run()
            return await sidecar.exitCode.value
        }
        let code: Int32?
        do {
            code = try await serve()
        } catch {
            try? await http.shutdown()
            throw error
        }
        try? await http.shutdown()
        if let code {
            throw ExitCode(code)
        }
    }
}

/// The watcher feeding the reconciler, as one service of the group: it ends once a graceful
/// shutdown (SIGTERM) is drained, or by itself when `--exit-on-completion` sees the run finish.
final class SidecarService: Service {
    let reconciler: Reconciler<ContinuousClock>
    let watcher: DirectoryWatcher
    let exitCode = ExitCodeBox()

    init(reconciler: Reconciler<ContinuousClock>, watcher: DirectoryWatcher) {
        self.reconciler = reconciler
        self.watcher = watcher
    }

    func run() async throws {
        // The reconciler listens for the graceful shutdown itself: it completes the logs of runs
        // that are over before it returns.
        exitCode.set(await reconciler.run(snapshots: watcher.snapshots()))
    }
}

final class ExitCodeBox: Sendable {
    private let storage = Mutex<Int32?>(nil)
    func set(_ code: Int32?) { storage.withLock { $0 = code } }
    var value: Int32? { get async { storage.withLock { $0 } } }
}
