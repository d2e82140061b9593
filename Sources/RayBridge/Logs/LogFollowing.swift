import AsyncHTTPClient
import Foundation
import Logging
import RayBridgeClients
import RayBridgeCore

// TEMPORARY adapter over LogShipping and RunEndWatcher with the interface of the follower that
// replaces both (branch `follower`); goes when that lands.
public enum LogSinkKind: Sendable, Equatable {
    case s3(S3Settings)
    case discard
}

public struct FollowRequest: Sendable, Equatable {
    public var submissionId: String
    public var rayURL: URL
    public var source: DriverLogSource
    public var sink: LogSinkKind
}

public enum FollowEvent: Sendable {
    case progress(submissionId: String, StatusSnapshot.LogShipment)
    case runEnded(RayJobDetails)
    case done(submissionId: String)
}

public actor LogFollowing {
    let shipping: LogShipping
    let rayCredentials: RayCredentials
    let http: HTTPClient
    let trust: TrustRoots?
    let logger: Logger
    let onEvent: @Sendable (FollowEvent) -> Void
    var endWatch: (submissionId: String, task: Task<Void, Never>)?

    public init(
        statusDirectory: String, rayCredentials: RayCredentials, s3Credentials: S3CredentialsFile, http: HTTPClient, trust: TrustRoots?,
        configuration: LogShipper.Configuration, logger: Logger, onEvent: @escaping @Sendable (FollowEvent) -> Void
    ) {
        self.rayCredentials = rayCredentials
        self.http = http
        self.trust = trust
        self.logger = logger
        self.onEvent = onEvent
        shipping = LogShipping(
            statusDirectory: statusDirectory, s3Credentials: s3Credentials, rayCredentials: rayCredentials, http: http, trust: trust,
            configuration: configuration, logger: logger,
            onProgress: { id, shipment in onEvent(.progress(submissionId: id, shipment)) },
            onTerminal: { details in onEvent(.runEnded(details)) })
    }

    public func ensure(_ request: FollowRequest?) async {
        var watch: FollowRequest?
        if let request {
            switch request.sink {
            case .s3(let settings): await shipping.ensure(submissionId: request.submissionId, settings: settings, rayURL: request.rayURL, source: request.source)
            case .discard: watch = request
            }
        }
        guard endWatch?.submissionId != watch?.submissionId else { return }
        endWatch?.task.cancel()
        endWatch = nil
        guard let watch else { return }
        let onEvent = onEvent
        let watcher = RunEndWatcher(
            submissionId: watch.submissionId, ray: RayClient(baseURL: watch.rayURL, credentials: rayCredentials, http: http, trust: trust),
            logger: logger, onTerminal: { onEvent(.runEnded($0)) })
        endWatch = (watch.submissionId, Task { await watcher.run() })
    }

    public func shutdown() async {
        endWatch?.task.cancel()
        await shipping.shutdown()
    }

    public func drain() async {
        await shipping.drain()
    }
}
