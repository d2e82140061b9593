import AsyncHTTPClient
import Foundation
import Logging
import RayBridgeClients
import RayBridgeCore

/// Keeps the right followers running for the reconciler. With S3, every run whose log is not
/// complete in S3 is shipped: the current run, a run that is being stopped for a new revision, and
/// after a restart any upload left open in the status directory. Without S3, the current run (not
/// terminal) is followed with its log discarded, only to notice its end quickly; that follower goes
/// when the current run changes or is over.
public actor LogFollowing {
    private let store: LogUploadStore
    private let rayCredentials: RayCredentials
    private let s3Credentials: any S3CredentialProvider
    private let http: HTTPClient
    private let trust: TrustRoots?
    private let configuration: LogShippingConfiguration
    private let logger: Logger
    private let onEvent: @Sendable (FollowEvent) -> Void
    /// The last failure to refresh temporary S3 credentials, shown with each shipment.
    private let credentialError: @Sendable () -> String?
    private var shipments: [String: Task<Void, Never>] = [:]
    /// Runs whose object is complete: `ensure` is called on every reconcile step, and must not
    /// read their state file each time.
    private var complete: Set<String> = []
    private var resumedLeftovers = false
    private var discarding: (submissionId: String, task: Task<Void, Never>)?
    /// Runs Ray lost: their objects are completed with what was shipped.
    private var lost: Set<String> = []

    /// `onEvent` is called from the followers' tasks and must not block.
    public init(
        statusDirectory: String, rayCredentials: RayCredentials, s3Credentials: any S3CredentialProvider, http: HTTPClient,
        trust: TrustRoots?, configuration: LogShippingConfiguration, logger: Logger,
        credentialError: @escaping @Sendable () -> String? = { nil }, onEvent: @escaping @Sendable (FollowEvent) -> Void
    ) {
        self.credentialError = credentialError
        self.store = LogUploadStore(directory: statusDirectory)
        self.rayCredentials = rayCredentials
        self.s3Credentials = s3Credentials
        self.http = http
        self.trust = trust
        self.configuration = configuration
        self.logger = logger
        self.onEvent = onEvent
    }

    /// Idempotent; called after every reconcile step with the current run (nil: none, or nothing
    /// to follow). Shipments of earlier runs go on until their objects are complete.
    public func ensure(_ request: FollowRequest?) {
        let discard = request?.sink == .discard ? request : nil
        if discarding?.submissionId != discard?.submissionId {
            discarding?.task.cancel()
            discarding = discard.map { ($0.submissionId, startDiscarding($0)) }
        }
        guard let request, case .s3(let settings) = request.sink else { return }
        if !resumedLeftovers {
            resumedLeftovers = true
            for id in incompleteUploads() where id != request.submissionId {
                startShipping(FollowRequest(submissionId: id, rayURL: request.rayURL, source: request.source, sink: request.sink), settings)
            }
        }
        startShipping(request, settings)
    }

    private func startShipping(_ request: FollowRequest, _ settings: S3Settings) {
        let id = request.submissionId
        guard shipments[id] == nil, !complete.contains(id) else { return }
        if store.load(id)?.complete == true {
            complete.insert(id)
            return
        }
        var logger = logger
        logger[metadataKey: "submission"] = "\(id)"
        let onEvent = onEvent
        var s3 = S3Client(settings: settings, credentials: s3Credentials, http: http, trust: trust)
        s3.signsPayload = configuration.signsPayload
        let session = MultipartUploadSession(
            submissionId: id, bucket: settings.bucket, key: settings.logKey(submissionId: id), s3: s3, store: store,
            retryBackoff: configuration.retryBackoff, clock: ContinuousClock(), logger: logger, credentialError: credentialError,
            onProgress: { onEvent(.progress(submissionId: id, $0)) })
        let follower = follower(request, logger: logger)
        let sink = S3LogSink(
            session: session, configuration: configuration, compression: settings.compression, follow: { follower(.exact(from: $0)) },
            onRunState: { onEvent(.runState($0)) }, abandoned: { await self.isLost(id) }, clock: ContinuousClock(), logger: logger)
        logger.info("shipping the driver log", metadata: ["destination": "s3://\(settings.bucket)/\(settings.logKey(submissionId: id))"])
        shipments[id] = Task {
            await sink.run()
            self.shipped(id)
        }
    }

    private func shipped(_ submissionId: String) {
        shipments[submissionId] = nil
        if store.load(submissionId)?.complete == true {
            complete.insert(submissionId)
            onEvent(.done(submissionId: submissionId))
        }
    }

    private func startDiscarding(_ request: FollowRequest) -> Task<Void, Never> {
        let follower = follower(request, logger: logger)(.endOnly)
        let (onEvent, logger) = (onEvent, logger)
        return Task {
            do {
                for try await event in follower {
                    switch event {
                    case .runEnded(let details), .runGoesOn(let details): onEvent(.runState(details))
                    case .interrupted(let reason):
                        logger.debug(
                            "cannot follow the driver log to notice the run's end; the poll goes on",
                            metadata: ["submission": "\(request.submissionId)", "error": "\(reason)"])
                    case .bytes: break
                    }
                }
                onEvent(.done(submissionId: request.submissionId))
            } catch {}
        }
    }

    private func follower(_ request: FollowRequest, logger: Logger) -> @Sendable (FollowMode) -> DriverLogFollower<ContinuousClock> {
        let ray = RayClient(baseURL: request.rayURL, credentials: rayCredentials, http: http, trust: trust)
        let (configuration, id, source) = (configuration, request.submissionId, request.source)
        return { mode in
            DriverLogFollower(
                submissionId: id, ray: ray, source: source, mode: mode, timing: configuration.followTiming,
                queueCapacity: configuration.queueCapacity, clock: ContinuousClock(), logger: logger)
        }
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

    /// Ray no longer knows the run: its shipment completes the object with what it read, at its
    /// next failed read of Ray (an upload left open by an earlier process is completed at once).
    public func abandon(_ submissionId: String) {
        lost.insert(submissionId)
    }

    private func isLost(_ submissionId: String) -> Bool { lost.contains(submissionId) }

    /// Stops every follower (SIGTERM): what was uploaded is on record; the next start resumes.
    public func shutdown() async {
        discarding?.task.cancel()
        let tasks = Array(shipments.values) + (discarding.map { [$0.task] } ?? [])
        for task in tasks { task.cancel() }
        for task in tasks { await task.value }
    }

    /// Waits until every S3 shipment is complete (--exit-on-completion, tests).
    public func drain() async {
        while let task = shipments.values.first {
            await task.value
        }
    }
}
