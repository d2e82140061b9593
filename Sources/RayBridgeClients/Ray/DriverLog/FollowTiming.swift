import RayBridgeCore

/// Every setting that decides when a `DriverLogFollower` asks Ray something, in one place.
public struct FollowTiming: Sendable, Equatable {
    /// The run's state is asked only once the log has been quiet this long...
    public var quietFor: Duration = .milliseconds(250)
    /// ...and at most this often. Ray has no push for a run's end, so this is the price of noticing
    /// it: one `GET /api/jobs/{id}` costs a 2.60 head about 2.4 ms of CPU (its HTTP proxy, the job
    /// module and the GCS; `make bench`, scale section), so a check every 2.5 s keeps a watched job
    /// under 0.1 % of a core, and the end shows 1.25 s after it, in the median.
    public var checkEvery: Duration = .milliseconds(2500)
    /// How often Ray's log agent looks at the file for a follow stream. The bytes are not urgent
    /// (a part is megabytes), but each look costs the agent CPU for every followed run.
    public var streamInterval: Duration = .seconds(2)
    /// Waiting for the driver to be placed: quick at first, then once a second for a pending run.
    public var driverPoll = Backoff(initial: .milliseconds(250), maximum: .seconds(1))
    /// Reconnects after a failed read: quick at first (a dropped stream is normal), at most 30 s.
    public var reconnect = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
    /// A run that ends with at most this much of its log read is finished through the file
    /// endpoint (which replays from byte 0 and ends at the file's end: exact, no waiting); a bigger
    /// one waits for the stream to stay quiet for `drainWindow` instead.
    public var rereadLimit: Int64 = 128 << 20
    /// Ray's stream polls the file every 0.5 s: quiet this long after the run ended, it is drained.
    public var drainWindow: Duration = .seconds(2)
    /// Sources that cannot be followed live are read again and again, pausing so that reading
    /// takes at most a tenth of the time, within these bounds.
    public var rereadPause: ClosedRange<Duration> = .seconds(1)...(.seconds(30))

    public init() {}
}
