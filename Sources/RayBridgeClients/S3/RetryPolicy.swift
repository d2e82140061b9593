import RayBridgeCore

/// Capped exponential backoff with full jitter, so many sidecars hitting one S3 after an outage
/// do not retry in lockstep.
public struct RetryPolicy: Sendable {
    public var maxAttempts: Int
    public var base: Duration
    public var cap: Duration

    public init(maxAttempts: Int, base: Duration, cap: Duration) {
        self.maxAttempts = maxAttempts
        self.base = base
        self.cap = cap
    }

    public static let standard = RetryPolicy(maxAttempts: 6, base: .milliseconds(200), cap: .seconds(10))

    /// The wait before attempt `attempt + 1`: uniformly random in [cap/2, cap] of the backoff.
    public func delay(afterAttempt attempt: Int) -> Duration {
        let bounded = Backoff(initial: base, maximum: cap).delay(afterFailures: attempt)
        return bounded / 2 + bounded / 2 * Double.random(in: 0...1)
    }
}
