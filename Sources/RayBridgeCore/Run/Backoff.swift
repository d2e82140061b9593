/// Capped exponential backoff, the one formula every retry in raybridge uses: `initial`, doubling
/// after each further failure, never more than `maximum`.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration

    public init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// 1 s doubling to 30 s: calls to Ray and S3, writing the status directory.
    public static let standard = Backoff(initial: .seconds(1), maximum: .seconds(30))

    /// The wait after the `failures`-th failure in a row (1 for the first).
    public func delay(afterFailures failures: Int) -> Duration {
        let doublings = min(max(failures - 1, 0), 30)
        var delay = initial
        for _ in 0..<doublings where delay < maximum { delay = delay * 2 }
        return min(delay, maximum)
    }
}

extension Backoff {
    /// The delay after `failures` failures, drawn uniformly from its upper half: many sidecars
    /// retrying one S3 after an outage do not come back in lockstep.
    public func jitteredDelay(afterFailures failures: Int) -> Duration {
        let delay = delay(afterFailures: failures)
        return delay / 2 + delay / 2 * Double.random(in: 0...1)
    }
}
