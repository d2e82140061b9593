import RayBridgeClients
import RayBridgeCore

/// How a run's log is shipped to S3: part sizes, memory, and the follow settings a user may tune.
public struct LogShippingConfiguration: Sendable {
    public var partSize: Int
    /// How long the stream must be quiet, after the run is terminal, to count as drained (a log
    /// bigger than `rereadLimit`). Ray's stream polls the file every 0.5 s.
    public var drainWindow: Duration
    /// Bytes read ahead of the uploader before the reading waits for it.
    public var queueCapacity: Int
    /// A run that ends with at most this much of its log read is finished through Ray's file
    /// endpoint (which replays from byte 0 and ends at the file's end: exact, no waiting);
    /// a bigger one waits for the stream to stay quiet for `drainWindow` instead.
    public var rereadLimit: Int64 = 128 << 20
    /// S3 retries and restarts of the shipment: quick at first, at most 30 s.
    public var retryBackoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))
    /// Sign each part's SHA-256 over https too (`RAYBRIDGE_S3_SIGN_PAYLOAD=1`), instead of
    /// UNSIGNED-PAYLOAD with a CRC-32: for `make bench`, to measure the difference.
    public var signsPayload = false
    /// `--end-check-cap`: the longest a followed run goes unchecked for its end once it is old
    /// (`FollowTiming.checkCap`); the follow of a run without S3 uses it too.
    public var endCheckCap: Duration = .seconds(15)
    /// Added to every run's age for the pace of its end check (`FollowTiming.ageOffset`): bench only.
    public var runAgeOffset: Duration = .zero

    public init(partSize: Int = 5 << 20, drainWindow: Duration = .seconds(2), queueCapacity: Int = 1 << 20) {
        self.partSize = partSize
        self.drainWindow = drainWindow
        self.queueCapacity = queueCapacity
    }

    public static let minimumPartSize = 5 << 20
    static let maximumPartSize = 5 << 30
    static let partsPerSize = 2000

    /// S3 allows 10,000 parts: they start at `partSize` and double every 2,000 parts, so the
    /// 10,000 hold 62,000 times `partSize` (about 300 GiB at 5 MiB) while the memory of ordinary
    /// logs stays at two small parts.
    public func partSize(forPart number: Int) -> Int {
        min(partSize << min((number - 1) / Self.partsPerSize, 4), Self.maximumPartSize)
    }

    /// The follower's settings, with this configuration's knobs.
    public var followTiming: FollowTiming {
        var timing = FollowTiming()
        timing.drainWindow = drainWindow
        timing.rereadLimit = rereadLimit
        timing.checkCap = endCheckCap
        timing.ageOffset = runAgeOffset
        return timing
    }
}
