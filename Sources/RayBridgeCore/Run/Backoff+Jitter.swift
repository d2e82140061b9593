extension Backoff {
    /// The delay after `failures` failures, drawn uniformly from its upper half: many sidecars
    /// retrying one S3 after an outage do not come back in lockstep.
    public func jitteredDelay(afterFailures failures: Int) -> Duration {
        let delay = delay(afterFailures: failures)
        return delay / 2 + delay / 2 * Double.random(in: 0...1)
    }
}
