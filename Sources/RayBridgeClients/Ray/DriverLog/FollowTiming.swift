import RayBridgeCore

/// Every setting that decides when a `DriverLogFollower` asks Ray something, in one place.
public struct FollowTiming: Sendable, Equatable {
    /// The run's state is asked only once the log has been quiet this long...
    public var quietFor: Duration = .milliseconds(250)
    /// ...and at most this often while the run is young or its log printed lately. Ray has no push
    /// for a run's end, so this is the price of noticing it: one `GET /api/jobs/{id}` costs a 2.60
    /// head 2.4 to 5.6 ms of CPU (its HTTP proxy, the job module and the GCS; `make bench`, scale
    /// section), about 0.2 % of a core per job at this pace, for an end shown 1.25 s after it in
    /// the median.
    public var checkEvery: Duration = .milliseconds(2500)
    /// A silent run older than `youngFor` is checked every `checkPerAge` of its age, between
    /// `checkEvery` and `checkCap` (`--end-check-cap`): its end shows at most about 1 % of its
    /// age late, and a fleet, which is mostly old runs, costs the head a fraction of the young
    /// pace (every 6 s at 10 minutes, 15 s from 25 minutes on).
    public var youngFor: Duration = .seconds(300)
    public var checkPerAge = 0.01
    public var checkCap: Duration = .seconds(15)
    /// A line printed keeps a run on the young pace this long: the check it brings forward may
    /// find the run still going, as the end a last line announces often comes a moment later.
    public var printedFor: Duration = .seconds(10)
    /// Added to every run's age (`RAYBRIDGE_BENCH_RUN_AGE_OFFSET`): lets `make bench` measure the
    /// pace of old runs on runs it just started. Zero in production.
    public var ageOffset: Duration = .zero
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

    /// How long after a check the next one may be due: `checkEvery` for a run `age` old (Ray's
    /// `start_time` to that check) under `youngFor`, or whose log printed lately (`printed`: a
    /// last line before the end is the common case, and noticed as fast as today); else a share
    /// of its age. An unknown age (nil) is taken for young. The cap bounds every pace, the young
    /// one too.
    public func checkInterval(age: Duration?, printed: Bool = false) -> Duration {
        let young = min(checkEvery, checkCap)
        guard !printed, let age, age + ageOffset >= youngFor else { return young }
        return min(max((age + ageOffset) * checkPerAge, checkEvery), checkCap)
    }
}
