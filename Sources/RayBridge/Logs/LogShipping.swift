import AsyncHTTPClient
import Foundation
import Logging
import RayBridgeClients
import RayBridgeCore

/// Keeps one `LogShipper` running for every run whose log is not complete in S3: the current
/// run, a run that is being stopped for a new revision, and after a restart any upload left open.
public actor LogShipping {
    private let store: LogUploadStore
    private let s3Credentials: S3CredentialsFile
    private let rayCredentials: RayCredentials
    private let http: HTTPClient
    private let trust: TrustRoots?
    private let configuration: LogShipper.Configuration
    private let logger: Logger
    private let onProgress: LogShipper.Progress
    private let onTerminal: LogShipper.TerminalObserver
    private var running: [String: Task<Void, Never>] = [:]
    /// Runs whose object is complete: `ensure` is called on every reconcile step, and must not
    /// read their state file each time.
    private var complete: Set<String> = []
    private var resumedLeftovers = false

    public init(
        statusDirectory: String, s3Credentials: S3CredentialsFile, rayCredentials: RayCredentials, http: HTTPClient,
        trust: TrustRoots?, configuration: LogShipper.Configuration, logger: Logger,
        onProgress: @escaping LogShipper.Progress, onTerminal: @escaping LogShipper.TerminalObserver
    ) {
        self.store = LogUploadStore(directory: statusDirectory)
        self.s3Credentials = s3Credentials
        self.rayCredentials = rayCredentials
        self.http = http
        self.trust = trust
        self.configuration = configuration
        self.logger = logger
        self.onProgress = onProgress
        self.onTerminal = onTerminal
    }

    /// Starts shipping `submissionId`'s log unless it is being shipped or is complete already.
    /// `source`: where the cluster's driver logs can be read exactly (it depends on its release).
    /// `rayURL`: the cluster the run lives on.
    public func ensure(submissionId: String, settings: S3Settings, rayURL: URL, source: DriverLogSource) {
        if !resumedLeftovers {
            resumedLeftovers = true
            for id in incompleteUploads() where id != submissionId {
                start(id, rayURL: rayURL, settings: settings, source: source)
            }
        }
        start(submissionId, rayURL: rayURL, settings: settings, source: source)
    }

    private func start(_ submissionId: String, rayURL: URL, settings: S3Settings, source: DriverLogSource) {
        guard running[submissionId] == nil, !complete.contains(submissionId) else { return }
        if store.load(submissionId)?.complete == true {
            complete.insert(submissionId)
            return
        }
        let shipper = LogShipper(
            submissionId: submissionId,
            ray: RayClient(baseURL: rayURL, credentials: rayCredentials, http: http, trust: trust),
            s3: S3Client(settings: settings, credentials: s3Credentials, http: http, trust: trust),
            settings: settings, source: source, store: store, configuration: configuration, logger: logger,
            onProgress: onProgress, onTerminal: onTerminal)
        logger.info("shipping the driver log", metadata: ["submission": "\(submissionId)", "destination": "s3://\(settings.bucket)/\(settings.logKey(submissionId: submissionId))"])
        running[submissionId] = Task {
            await shipper.run()
            self.finished(submissionId)
        }
    }

    private func finished(_ submissionId: String) {
        running[submissionId] = nil
        if store.load(submissionId)?.complete == true { complete.insert(submissionId) }
    }

    /// Runs whose state file says the upload is open (left by an earlier process).
    private func incompleteUploads() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: store.directory)) ?? []
        return names.compactMap { name -> String? in
            guard name.hasPrefix(".raybridge-log-"), name.hasSuffix(".json") else { return nil }
            let id = String(name.dropFirst(".raybridge-log-".count).dropLast(".json".count))
            return store.load(id)?.complete == false ? id : nil
        }
    }

    /// Stops every shipper (SIGTERM): what was uploaded is on record; the next start resumes.
    public func shutdown() async {
        let tasks = running.values
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Waits until no shipper is running (tests, --exit-on-completion).
    public func drain() async {
        while let task = running.values.first {
            await task.value
        }
    }
}
