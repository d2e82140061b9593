import AsyncHTTPClient
import Foundation
import Logging

/// Executes what `ReconcilerStateMachine` decides: talks to Ray, sleeps, persists the journal
/// before every submission and publishes the status directory after every step.
public actor Reconciler {
    public struct Configuration: Sendable {
        public var jobName: String
        public var statusDirectory: String
        public var rayCredentials: RayCredentials
        public var s3Credentials: S3CredentialsFile
        public var exitOnCompletion: Bool
        /// SIGTERM stops the current run too (by default the run goes on without us).
        public var stopOnExit: Bool
        public var logShipping: LogShippingConfiguration
        /// `--ca-file`: PEM trust roots added to the system's for https to Ray and S3.
        public var caFile: String?

        public init(
            jobName: String, statusDirectory: String, rayCredentials: RayCredentials,
            s3Credentials: S3CredentialsFile = S3CredentialsFile(directory: "/s3credentials"),
            exitOnCompletion: Bool = false, stopOnExit: Bool = false, logShipping: LogShippingConfiguration = .init(),
            caFile: String? = nil
        ) {
            self.caFile = caFile
            self.stopOnExit = stopOnExit
            self.jobName = jobName
            self.statusDirectory = statusDirectory
            self.rayCredentials = rayCredentials
            self.s3Credentials = s3Credentials
            self.exitOnCompletion = exitOnCompletion
            self.logShipping = logShipping
        }
    }

    let configuration: Configuration
    let http: HTTPClient
    let trust: TrustRoots
    var shipping: LogFollowing?
    let health: HealthState
    /// When the last ConfigMap change was seen, until the Ray call it causes is sent.
    var pendingReaction: ContinuousClock.Instant?
    /// Log progress per submission; the current run's is shown in the status.
    var shipments: [String: StatusSnapshot.LogShipment] = [:]
    let statusWriter: AtomicDirectoryWriter
    let journalStore: JournalStore
    var logger: Logger
    var machine: ReconcilerStateMachine
    let parser: ConfigMapParser
    var publishedStatus: StatusSnapshot?
    var savedJournal: Journal?
    var timer: Task<Void, Never>?
    var packagePins = PackagePins()
    var lastPackage: (script: String, package: WorkingDirPackage)?
    var timerGeneration = 0
    /// The `ray_version` label last exported, to be zeroed when the cluster changes.
    var reportedRayVersion: String?
    var exitContinuation: AsyncStream<Int32>.Continuation?
    var rayFailures = ReasonLog()
    var preparationFailures = ReasonLog()
    var statusFailures = 0
    var statusRetry: Task<Void, Never>?
    let exitCodes: AsyncStream<Int32>

    public init(configuration: Configuration, http: HTTPClient = .shared, health: HealthState = HealthState(), logger: Logger) throws {
        self.configuration = configuration
        self.http = http
        self.trust = TrustRoots(caFile: configuration.caFile, logger: logger)
        self.health = health
        self.statusWriter = AtomicDirectoryWriter(directory: configuration.statusDirectory)
        self.journalStore = JournalStore(statusDirectory: configuration.statusDirectory)
        var logger = logger
        logger[metadataKey: "job"] = "\(configuration.jobName)"
        self.logger = logger
        try FileManager.default.createDirectory(atPath: configuration.statusDirectory, withIntermediateDirectories: true)
        var journal: Journal?
        do {
            journal = try journalStore.load()
        } catch {
            // The cluster's job list knows every run by its metadata: recovering from it is safe.
            logger.error("ignoring the journal; runs will be looked up on the Ray cluster", metadata: ["error": "\(error)"])
        }
        if let journal {
            logger.info("resuming from the journal", metadata: ["runs": "\(journal.runs.count)", "current": "\(journal.currentId ?? "-")"])
        } else {
            logger.info("no journal in the status directory: runs will be looked up on the Ray cluster")
        }
        self.machine = ReconcilerStateMachine(jobName: configuration.jobName, journal: journal, exitOnCompletion: configuration.exitOnCompletion)
        self.savedJournal = journal
        self.parser = ConfigMapParser(jobName: configuration.jobName)
        (self.exitCodes, self.exitContinuation) = AsyncStream.makeStream(of: Int32.self)
    }

    /// Consumes ConfigMap snapshots until they end, the task is cancelled, or `--exit-on-completion`
    /// finds the run terminal; returns the exit code in that last case.
    public func run(snapshots: AsyncStream<DirectorySnapshot>) async -> Int32? {
        let (followEvents, followContinuation) = AsyncStream.makeStream(of: FollowEvent.self)
        shipping = LogFollowing(
            statusDirectory: configuration.statusDirectory, rayCredentials: configuration.rayCredentials,
            s3Credentials: configuration.s3Credentials, http: http, trust: trust, configuration: configuration.logShipping, logger: logger,
            onEvent: { followContinuation.yield($0) })
        // One consumer, so that the followers' events are taken in the order they were told.
        let followed = Task { [weak self] in
            for await event in followEvents { await self?.followed(event) }
        }
        publish()
        let exits = exitCodes
        let code = await withTaskGroup(of: Int32?.self) { group in
            group.addTask {
                for await snapshot in snapshots {
                    await self.configChanged(snapshot)
                }
                return nil
            }
            group.addTask {
                for await code in exits { return code }
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        timer?.cancel()
        statusRetry?.cancel()
        exitContinuation?.finish()
        if code == nil, configuration.stopOnExit, let (run, details) = machine.currentRun, !(details?.status.isTerminal ?? false),
            let client = machine.clusterURL(of: run.submissionId).map(rayClient)
        {
            logger.info("--stop-on-exit: stopping the run", metadata: ["submission": "\(run.submissionId)"])
            await Self.stopBeforeExit(run.submissionId, client: client, logger: logger)
        }
        // SIGTERM: uploads stop where they are; their state is on disk for the next start.
        await shipping?.shutdown()
        followContinuation.finish()
        await followed.value
        persistJournal()
        publish()
        return code
    }

    /// The shutdown has cancelled this task, and a cancelled task's requests fail at once: the
    /// stop runs in a task of its own, bounded so that it fits the graceful shutdown period.
    private static func stopBeforeExit(_ submissionId: String, client: RayClient, logger: Logger) async {
        let outcome = await Task { () -> String? in
            await withTaskGroup(of: String?.self) { group in
                group.addTask {
                    do {
                        _ = try await client.stop(submissionId)
                        return nil
                    } catch {
                        return "\(error)"
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .seconds(3))
                    return "no answer from Ray within 3 s"
                }
                let first = await group.next() ?? nil
                group.cancelAll()
                return first
            }
        }.value
        if let outcome {
            logger.error("cannot stop the run; it goes on without us", metadata: ["submission": "\(submissionId)", "error": "\(outcome)"])
        } else {
            logger.info("stop requested", metadata: ["submission": "\(submissionId)"])
        }
    }

    public func configChanged(_ snapshot: DirectorySnapshot) async {
        let result = parser.parse(snapshot)
        for warning in result.warnings { logger.warning("\(warning)") }
        RayBridgeMetrics.configReloaded()
        health.configRead()
        pendingReaction = snapshot.observedAt
        switch result {
        case .valid(let spec, _):
            logger.info("ConfigMap read", metadata: ["revision": "\(spec.revision.short)", "kill": "\(spec.kill)", "attach": "\(spec.attachId ?? "-")"])
        case .invalid(let problems, _):
            RayBridgeMetrics.configInvalid()
            logger.error("ConfigMap is invalid; the current run is left as it is", metadata: ["problems": "\(problems.map(\.description))"])
        }
        await drive(machine.configChanged(result, at: snapshot.observedAt))
    }

    private func wake(_ generation: Int) async {
        guard generation == timerGeneration else { return }
        // This runs on the timer's own task: it must not be cancelled by the drive it starts.
        timer = nil
        await drive(machine.wakeup(at: .now))
    }

    func drive(_ first: ReconcilerStateMachine.Action) async {
        timer?.cancel()
        timerGeneration += 1
        var action = first
        while true {
            if case .submit = action {
                // submit() persists the journal itself, while the package check is in flight; the
                // status files (an fsync per file) are published once the POST is out.
            } else {
                persistJournal()
                publish()
            }
            await ensureFollowing()
            switch action {
            case .none:
                return
            case .sleep(let duration):
                let generation = timerGeneration
                timer = Task { [weak self] in
                    try? await Task.sleep(for: duration)
                    guard !Task.isCancelled else { return }
                    await self?.wake(generation)
                }
                return
            case .exit(let code):
                logger.info("run is terminal and --exit-on-completion is set; exiting once its log is shipped", metadata: ["exitCode": "\(code)"])
                await ensureFollowing()
                await shipping?.drain()
                exitContinuation?.yield(code)
                return
            case .readVersion(let url):
                action = await readVersion(url)
            case .recover:
                action = await recover()
            case .fetch(let id):
                action = await fetch(id)
            case .stop(let id):
                action = await stop(id)
            case .submit(let run, let spec):
                action = await submit(run, spec)
            }
        }
    }

    var client: RayClient? {
        machine.activeSpec.map { rayClient($0.rayURL) }
    }

    func rayClient(_ url: URL) -> RayClient {
        RayClient(baseURL: url, credentials: configuration.rayCredentials, http: http, trust: trust)
    }

    @discardableResult
    func persistJournal() -> Bool {
        let journal = machine.journal
        guard journal != savedJournal else { return true }
        do {
            try journalStore.save(journal)
            savedJournal = journal
            return true
        } catch {
            logger.error("cannot write the journal", metadata: ["path": "\(journalStore.path)", "error": "\(error)"])
            return false
        }
    }

    func publish() {
        var status = machine.status
        status.log = shipments[status.submissionId]
        guard status != publishedStatus else { return }
        do {
            try statusWriter.write(StatusFiles.render(status, updatedAt: Date()))
            if status.jobStatus != publishedStatus?.jobStatus || status.submissionId != publishedStatus?.submissionId {
                RayBridgeMetrics.jobStatus(status.jobStatus)
                logger.info("status", metadata: ["jobStatus": "\(status.jobStatus)", "submission": "\(status.submissionId)"])
            }
            publishedStatus = status
            if statusFailures > 0 { logger.info("the status directory is written again", metadata: ["failures": "\(statusFailures)"]) }
            statusFailures = 0
            statusRetry?.cancel()
            statusRetry = nil
        } catch {
            statusFailures += 1
            if statusFailures == 1 {
                logger.error("cannot write the status directory; retrying with backoff", metadata: ["error": "\(error)"])
            }
            // The latest status is written as soon as the directory takes it, not at the next event.
            guard statusRetry == nil else { return }
            let delay = Backoff.standard.delay(afterFailures: statusFailures)
            statusRetry = Task { [weak self] in
                try? await Task.sleep(for: delay)
                guard !Task.isCancelled else { return }
                await self?.retryPublish()
            }
        }
    }

    private func retryPublish() {
        statusRetry = nil
        publish()
    }
}
