import NIOCore

@testable import RayBridge
@testable import RayBridgeClients
@testable import RayBridgeCore

/// A Ray cluster with one run, in memory: its state, its driver's node and its log file, which the
/// test appends to. Follow streams replay the file from byte 0 and then get what is appended,
/// until the test closes them; file reads give the file as it is, in small chunks.
actor FakeRay: RayJobsReading {
    struct StreamRequest: Equatable {
        var follow: Bool
        var framing: RayLogFraming
    }

    let submissionId: String
    var status: RayJobStatus = .pending
    var node: String?
    /// Ray's `start_time` (Unix ms): the run's age paces the follower's checks.
    var startTime: Int64?
    /// The run ends (SUCCEEDED) at this call of `job`, so that a follow on a clock that moves by
    /// itself ends where the test wants.
    var endsAtCall: Int?
    var file = ByteBuffer()
    /// Thrown by the next calls of `job`, in order.
    var jobFailures: [RayClientError] = []
    /// Thrown by the next stream or file requests, in order.
    var streamFailures: [RayClientError] = []
    private(set) var jobCalls = 0
    private(set) var streamRequests: [StreamRequest] = []
    private(set) var jobAPIReads = 0
    private var live: [AsyncThrowingStream<ByteBuffer, any Error>.Continuation] = []
    let chunkSize: Int

    init(submissionId: String = "raysubmit_1", chunkSize: Int = 5) {
        self.submissionId = submissionId
        self.chunkSize = chunkSize
    }

    var openStreams: Int { live.count }

    func set(status: RayJobStatus, node: String? = nil) {
        self.status = status
        if let node { self.node = node }
    }

    func set(startTime: Int64?, endsAtCall: Int? = nil) {
        self.startTime = startTime
        self.endsAtCall = endsAtCall
    }

    func failJob(_ errors: [RayClientError]) { jobFailures += errors }
    func failStreams(_ errors: [RayClientError]) { streamFailures += errors }

    /// Appends to the log file; open follow streams get the bytes.
    func append(_ text: String) {
        file.writeString(text)
        for stream in live { stream.yield(ByteBuffer(string: text)) }
    }

    /// Ends every open follow stream, as a dropped connection does.
    func closeStreams() {
        for stream in live { stream.finish() }
        live = []
    }

    func job(_ submissionId: String) async throws(RayClientError) -> RayJobDetails {
        jobCalls += 1
        if !jobFailures.isEmpty { throw jobFailures.removeFirst() }
        if let endsAtCall, jobCalls >= endsAtCall { status = .succeeded }
        var details = RayJobDetails(submissionId: submissionId, status: status, startTime: startTime)
        details.driverNodeId = node
        return details
    }

    func streamDriverLog(
        nodeId: String, submissionId: String, following: Duration?, framing: RayLogFraming
    ) async throws(RayClientError) -> DriverLogBody {
        let follow = following != nil
        streamRequests.append(StreamRequest(follow: follow, framing: framing))
        if !streamFailures.isEmpty { throw streamFailures.removeFirst() }
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        for chunk in chunks(file) { continuation.yield(chunk) }
        if follow { live.append(continuation) } else { continuation.finish() }
        return DriverLogBody(chunks: stream)
    }

    func driverLogFromJobAPI(submissionId: String) async throws(RayClientError) -> DriverLogBody {
        jobAPIReads += 1
        if !streamFailures.isEmpty { throw streamFailures.removeFirst() }
        let (stream, continuation) = AsyncThrowingStream<ByteBuffer, any Error>.makeStream()
        continuation.yield(file)
        continuation.finish()
        return DriverLogBody(chunks: stream)
    }

    private func chunks(_ buffer: ByteBuffer) -> [ByteBuffer] {
        var buffer = buffer
        var out: [ByteBuffer] = []
        while buffer.readableBytes > 0 { out.append(buffer.readSlice(length: min(chunkSize, buffer.readableBytes))!) }
        return out
    }
}

extension FakeRay {
    /// Bytes the log file has and no open stream has delivered yet (the stream polls the file).
    func appendUnseen(_ text: String) {
        file.writeString(text)
    }
}
