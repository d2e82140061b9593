import RayBridgeCore

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Which working_dir packages are known to be on the cluster right now, so that a quick
/// succession of submissions (edits of parameters, `resubmit`, an edit storm) does not wait for
/// the package check each time.
///
/// Every GET or PUT of a package makes Ray pin it for `RAY_RUNTIME_ENV_TEMPORARY_REFERENCE_EXPIRATION_S`
/// (10 minutes by default), so that it is not garbage-collected before a job references it. A
/// package checked less than `trust` ago is therefore still there, unless the cluster's operator
/// set that expiration below `trust`. The check starts the clock, not its answer: the pin is
/// at least as old as the request.
public struct PackagePins: Sendable {
    public static let defaultTrust: Duration = .seconds(60)

    private let trust: Duration
    private var checked: [Key: ContinuousClock.Instant] = [:]

    private struct Key: Hashable, Sendable {
        var cluster: String
        var package: String
    }

    public init(trust: Duration = Self.defaultTrust) {
        self.trust = trust
    }

    public func isPinned(_ package: String, on cluster: URL, at now: ContinuousClock.Instant = .now) -> Bool {
        guard let at = checked[Key(cluster: cluster.absoluteString, package: package)] else { return false }
        return now - at < trust
    }

    /// Records a successful GET or PUT that was sent at `sentAt`; forgets pins that have lapsed.
    public mutating func record(_ package: String, on cluster: URL, sentAt: ContinuousClock.Instant) {
        checked = checked.filter { sentAt - $0.value < trust }
        checked[Key(cluster: cluster.absoluteString, package: package)] = sentAt
    }

    /// After a submission failed in a way that could mean the package is gone.
    public mutating func forget(on cluster: URL) {
        checked = checked.filter { $0.key.cluster != cluster.absoluteString }
    }
}
