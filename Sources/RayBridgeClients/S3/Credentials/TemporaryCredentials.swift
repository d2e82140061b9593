import Foundation
import RayBridgeCore

/// Credentials that expire (STS, the container credentials endpoint), with when they were fetched.
public struct TemporaryCredentials: Sendable, Equatable {
    public var credentials: S3Credentials
    /// nil: the source did not say; they are used until a request is refused.
    public var expiration: Date?
    public var fetched: Date

    public init(credentials: S3Credentials, expiration: Date?, fetched: Date) {
        self.credentials = credentials
        self.expiration = expiration
        self.fetched = fetched
    }

    var lifetime: TimeInterval? { expiration.map { $0.timeIntervalSince(fetched) } }

    /// When to fetch new ones: a few minutes before expiry (a quarter of the lifetime for short
    /// ones), earlier by a random share so that many sidecars of one role do not ask STS at once.
    /// `random` is in 0..<1.
    public func refreshTime(random: Double) -> Date? {
        guard let expiration, let lifetime else { return nil }
        let ahead = min(300, max(0, lifetime) / 4)
        let jitter = min(60, max(0, lifetime) / 10) * random
        return expiration.addingTimeInterval(-(ahead + jitter))
    }

    /// Whether a request signed now still arrives before they expire (a margin for the clock
    /// skew and the request's time on the wire).
    public func usable(at now: Date) -> Bool {
        guard let expiration, let lifetime else { return true }
        return now < expiration.addingTimeInterval(-min(10, max(0, lifetime) / 20))
    }
}
