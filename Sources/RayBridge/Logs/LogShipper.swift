import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import RayBridgeClients
import RayBridgeCore

/// Streams one run's driver log to S3 while the run lives: reads Ray's state-API file stream,
/// cuts it into parts, uploads each part as it fills, and completes the upload once the run is
/// terminal and the stream has drained. Memory holds at most two parts plus a small queue.
///
/// Byte-exact across restarts: the uploaded parts are recorded after each upload; a restart
/// reconciles them with ListParts, replays the stream from byte 0 and skips what S3 already has.
public actor LogShipper {
    public struct Configuration: Sendable {
        public var partSize: Int
        /// How long the stream must be quiet, after the run is terminal, to count as drained.
        /// Ray's stream polls the file every 0.5 s.
        public var drainWindow: Duration
        public var queueCapacity: Int
        /// A run that ends with at most this much of its log read is finished through Ray's file
        /// endpoint (which replays from byte 0 and ends at the file's end: exact, no waiting);
        /// a bigger one waits for the stream to stay quiet for `drainWindow` instead.
        public var rereadLimit: Int64 = 128 << 20

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
    }

    public typealias Progress = @Sendable (String, StatusSnapshot.LogShipment) async -> Void
    public typealias TerminalObserver = @Sendable (RayJobDetails) async -> Void

    let submissionId: String
    let ray: RayClient
    let source: DriverLogSource
    let s3: S3Client
    let store: LogUploadStore
    let configuration: Configuration
    let logger: Logger
    let onProgress: Progress
    let onTerminal: TerminalObserver
    var state: LogUploadState
    /// Bytes taken from the stream so far (shipped plus those waiting in `pending`).
    var consumed: Int64 = 0
    var pending: ByteBuffer
    var lastError: String?
    var failureLog = ReasonLog()
    /// Set when a followed run turned out terminal: the rest is read through the file endpoint.
    var finishFromFile = false

    public init(
        submissionId: String, ray: RayClient, s3: S3Client, settings: S3Settings, source: DriverLogSource = .stateAPI(.raw), store: LogUploadStore,
        configuration: Configuration = .init(), logger: Logger,
        onProgress: @escaping Progress, onTerminal: @escaping TerminalObserver
    ) {
        self.submissionId = submissionId
        self.ray = ray
        self.source = source
        self.s3 = s3
        self.store = store
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "submission"] = "\(submissionId)"
        self.logger = logger
        self.onProgress = onProgress
        self.onTerminal = onTerminal
        self.pending = Self.partBuffer(configuration.partSize)
        let key = settings.logKey(submissionId: submissionId)
        if let saved = store.load(submissionId), saved.bucket == settings.bucket, saved.key == key {
            state = saved
        } else {
            state = LogUploadState(submissionId: submissionId, bucket: settings.bucket, key: key)
        }
    }

    public var destination: String { "s3://\(state.bucket)/\(state.key)" }

    /// Ships until the object is complete. Cancellation (shutdown) stops at once; what was
    /// uploaded is recorded and the next start resumes it.
    public func run() async {
        guard !state.complete else { return }
        await report()
        await resumeUpload()
        var failures = 0
        while !Task.isCancelled {
            do {
                if try await shipStream() {
                    try await finish()
                    logger.info("driver log shipped", metadata: ["destination": "\(destination)", "bytes": "\(state.shipped)", "parts": "\(state.parts.count)"])
                    return
                }
                failures = 0
            } catch is CancellationError {
                return
            } catch {
                failures += 1
                lastError = "\(error)"
                if failureLog.changed("\(error)") {
                    logger.warning("log shipping interrupted; retrying with backoff (logged again only when the reason changes)", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                }
                await report()
                try? await Task.sleep(for: Self.backoff(failures))
            }
        }
    }

    /// Reconnects and S3 retries: quick at first (a dropped stream is normal), at most 30 s.
    static let retryBackoff = Backoff(initial: .milliseconds(500), maximum: .seconds(30))

    static func backoff(_ failures: Int) -> Duration {
        retryBackoff.delay(afterFailures: failures)
    }

    // MARK: Steps

    /// Reads the stream once; returns true when the run is terminal and the stream drained,
    /// false when the stream ended early (reconnect), throws on errors.
    func shipStream() async throws -> Bool {
        let (nodeId, details) = try await ray.waitForDriver(submissionId)
        guard let nodeId else {
            // The run ended before a driver started (runtime env failure): Ray's job log, if
            // any, is all there is.
            let text = try await ray.logs(submissionId)
            pending = ByteBuffer(string: text)
            consumed = Int64(pending.readableBytes)
            state.restartFromZero()
            await onTerminal(details)
            return true
        }
        // A run that is over (a restart, an attach, a short job) has its whole log on disk: the
        // file endpoint ends at its end, so no quiet window has to pass before the upload completes.
        let over = details.status.isTerminal
        if over { await onTerminal(details) }
        if !over, !source.followsLive { return try await rereadWhileRunning(nodeId: nodeId) }
        finishFromFile = false
        guard try await pass(nodeId: nodeId, follow: !over) else { return false }
        if finishFromFile {
            // The run ended while followed: the rest is read to the file's end, exactly.
            logger.info("the run is over; reading the rest of its log to the end of the file", metadata: ["bytesRead": "\(consumed)"])
            return try await pass(nodeId: nodeId, follow: false)
        }
        return true
    }

    /// Ray < 2.33, whose follow stream cannot be decoded exactly (and Ray 2.52 with a token, read
    /// through the job API): the file endpoint is read again
    /// and again (each read replays from byte 0; what was taken is skipped), pausing so that
    /// reading takes at most a tenth of the time. The run's state is asked before each read, so the
    /// read after which it is over has the whole log.
    func rereadWhileRunning(nodeId: String) async throws -> Bool {
        while true {
            let started = ContinuousClock.now
            let details = try await ray.job(submissionId)
            guard try await pass(nodeId: nodeId, follow: false) else { return false }
            if details.status.isTerminal {
                await onTerminal(details)
                return true
            }
            let took = ContinuousClock.now - started
            try await Task.sleep(for: min(max(took * 9, .seconds(1)), .seconds(30)))
        }
    }

    /// One read of the driver log, following it or to the file's end; true when the log is
    /// complete (the run is terminal and everything was taken), false when the read broke off.
    func pass(nodeId: String, follow: Bool) async throws -> Bool {
        let body: DriverLogBody
        switch source {
        case .stateAPI(let framing):
            body = try await ray.streamDriverLog(nodeId: nodeId, submissionId: submissionId, follow: follow, framing: framing)
        case .jobAPI:
            body = try await ray.driverLogFromJobAPI(submissionId: submissionId)
        }
        let queue = ChunkQueue(capacity: configuration.queueCapacity)
        let reader = Task {
            var complete = false
            do {
                for try await chunk in body { await queue.push(chunk) }
                complete = true
            } catch {}
            await queue.finish()
            return complete
        }
        let monitor = follow ? Task { await self.watchForEnd(queue: queue, reader: reader) } : Task { await reader.value }
        defer {
            reader.cancel()
            monitor.cancel()
        }
        // The reader and monitor are unstructured: pass a shutdown on to them, which ends the
        // queue and so the loop below.
        return try await withTaskCancellationHandler {
            try await drain(queue, monitor: monitor)
        } onCancel: {
            reader.cancel()
            monitor.cancel()
        }
    }

    func drain(_ queue: ChunkQueue, monitor: Task<Bool, Never>) async throws -> Bool {
        // The stream replays from byte 0: skip everything already taken.
        var skip = consumed
        var cut = state.parts.count
        // One part uploads while the next fills, so reading and uploading overlap; waiting for the
        // upload before starting the next keeps memory at two parts and the part numbers in order.
        var upload: Task<ByteBuffer, Error>?
        do {
            while let chunk = await queue.pop() {
                var chunk = chunk
                if skip > 0 {
                    let drop = Int(min(skip, Int64(chunk.readableBytes)))
                    chunk.moveReaderIndex(forwardBy: drop)
                    skip -= Int64(drop)
                }
                guard chunk.readableBytes > 0 else { continue }
                consumed += Int64(chunk.readableBytes)
                pending.writeBuffer(&chunk)
                while pending.readableBytes >= configuration.partSize(forPart: cut + 1) {
                    let part = pending.readSlice(length: configuration.partSize(forPart: cut + 1))!
                    cut += 1
                    // The previous part's buffer, back from S3, takes the few bytes past this part
                    // and fills on: no fresh mapping to fault in for every part.
                    var next = try await Self.recycle(&upload, capacity: configuration.partSize(forPart: cut + 1))
                    next.writeBuffer(&pending)
                    let filled = pending
                    pending = next
                    upload = Task {
                        try await self.uploadPart(part)
                        return filled
                    }
                }
            }
            try Task.checkCancellation()
            _ = try await upload?.value
        } catch {
            upload?.cancel()
            _ = try? await upload?.value
            // Whatever is not in S3 yet is read again: the stream replays from byte 0.
            consumed = state.shipped
            pending = Self.partBuffer(configuration.partSize(forPart: state.parts.count + 1))
            throw error
        }
        monitor.cancel()
        return await monitor.value
    }

    /// Decides the end of the run without polling a busy job: Ray is asked only when the stream
    /// has gone quiet, at most once a second. Returns true once the run is terminal and either
    /// the rest is to be read from the file (`finishFromFile`) or the stream stayed quiet for the
    /// drain window; it stops the reader then.
    func watchForEnd(queue: ChunkQueue, reader: Task<Bool, Never>) async -> Bool {
        var terminalAt: ContinuousClock.Instant?
        var lastCheck = ContinuousClock.now - .seconds(10)
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            guard await queue.isQuiet(for: .milliseconds(250)) else { continue }
            if let terminalAt {
                if ContinuousClock.now - terminalAt >= configuration.drainWindow, await queue.isQuiet(for: configuration.drainWindow) {
                    reader.cancel()
                    return true
                }
            } else if ContinuousClock.now - lastCheck >= .seconds(1) {
                lastCheck = .now
                if let details = try? await ray.job(submissionId), details.status.isTerminal {
                    terminalAt = .now
                    await onTerminal(details)
                    // The file is final now. Unless re-reading it from byte 0 costs more than the
                    // quiet window, its end is found exactly through the file endpoint.
                    if consumed <= configuration.rereadLimit {
                        finishFromFile = true
                        reader.cancel()
                        return true
                    }
                }
            }
        }
        return false
    }

}
