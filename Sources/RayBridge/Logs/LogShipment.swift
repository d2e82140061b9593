import Logging
import NIOCore
import RayBridgeClients
import RayBridgeCore

/// Ships one run's driver log until it is complete, from one follower to two sinks, each optional:
/// S3 (the bytes cut into parts by `PartCutter` and uploaded by `MultipartUploadSession`, one part
/// uploading while the next fills) and standard output (`StdoutPrinter`, whole lines). Memory holds
/// at most two parts, the follower's queue and one partial line.
///
/// Byte-exact across restarts: each sink knows how far it got (S3's parts, the printed offset), the
/// follower starts at the lesser of the two (it skips what Ray replays), and each sink skips what it
/// has. Cancellation (shutdown) stops at once; what was uploaded and printed is recorded, and the
/// next start resumes it. Restarts wait on `clock`, so tests move time.
struct LogShipment<C: Clock>: Sendable where C.Duration == Duration {
    let session: MultipartUploadSession?
    let printer: StdoutPrinter?
    let configuration: LogShippingConfiguration
    var compression: LogCompression = .none
    /// A follower of the run's log from the given offset.
    let follow: @Sendable (Int64) -> DriverLogFollower<C>
    let onRunState: @Sendable (RayJobDetails) -> Void
    /// Ray lost the run (a head restarted without persistence): its log will never be whole, so
    /// the sinks are completed with what was read.
    let abandoned: @Sendable () async -> Bool
    let clock: C
    let logger: Logger

    /// Every sink has the whole log.
    var isComplete: Bool {
        get async {
            let s3 = await session?.isComplete ?? true
            let printed = await printer?.isComplete ?? true
            return s3 && printed
        }
    }

    func run() async {
        guard await !isComplete else { return }
        await session?.report()
        do { try await session?.resume() } catch { return }
        if await abandoned() {
            try? await finishLost()
            return
        }
        var failures = 0
        while !Task.isCancelled {
            do {
                try await ship()
                if let session {
                    let (destination, bytes, parts) = (await session.destination, await session.shipped, await session.nextPart - 1)
                    logger.info("driver log shipped", metadata: ["destination": "\(destination)", "bytes": "\(bytes)", "parts": "\(parts)"])
                }
                return
            } catch {
                if error is CancellationError || Task.isCancelled { break }
                // The upload vanished, or a part could not be recorded: again from what S3 holds.
                failures += 1
                await session?.interrupted("\(error)", attempt: failures)
                do { try await clock.sleep(for: configuration.retryBackoff.delay(afterFailures: failures)) } catch { break }
            }
        }
        // Left (a shutdown): how far standard output got is what the next start goes on from.
        await printer?.save()
    }

    /// The run was lost: each sink is completed with what it has.
    private func finishLost() async throws {
        if let session, await !session.isComplete {
            try await session.finish(rest: ByteBuffer())
            let bytes = await session.shipped
            logger.info("the run was lost; its log object is completed as it is", metadata: ["bytes": "\(bytes)"])
        }
        try await printer?.finish()
    }

    /// Follows the log from where the sinks are to its end and completes them.
    func ship() async throws {
        let s3 = await session?.isComplete == false ? session : nil
        let printer = await self.printer?.isComplete == false ? self.printer : nil
        let s3From = await s3?.shipped ?? .max
        let printFrom = await printer?.printed ?? .max
        var position = min(s3From, printFrom)
        var cutter = PartCutter(
            nextPart: await s3?.nextPart ?? 1, partSize: { [configuration] in configuration.partSize(forPart: $0) }, compression: compression)
        var upload: Task<ByteBuffer, any Error>?
        do {
            reading: for try await event in follow(position) {
                switch event {
                case .bytes(let bytes):
                    defer { position += Int64(bytes.readableBytes) }
                    try await printer?.take(bytes, at: position)
                    guard let s3, position + Int64(bytes.readableBytes) > s3From else { continue }
                    // Standard output may be behind S3 after a crash: S3 skips what it holds.
                    var bytes = bytes
                    if position < s3From { bytes.moveReaderIndex(forwardBy: Int(s3From - position)) }
                    cutter.append(bytes)
                    while cutter.hasFullPart {
                        var spare = try await Self.finished(&upload)
                        let part = cutter.cut(reusing: &spare)!
                        // Unstructured so that the part uploads while this loop reads the next one;
                        // it never outlives `ship()`: awaited before the next part, at the end, or
                        // cancelled and awaited on the way out (the catch below).
                        upload = Task {
                            try await s3.upload(part.bytes, logBytes: part.logBytes)
                            return part.storage
                        }
                    }
                case .runEnded(let details), .runGoesOn(let details):
                    onRunState(details)
                case .interrupted(let reason):
                    // Ray cannot be read; if it forgot the run, what was read is all there is.
                    if await abandoned() { break reading }
                    await session?.interrupted(reason)
                }
            }
            _ = try await Self.finished(&upload)
            if let s3 {
                let rest = cutter.takeRest()
                try await s3.finish(rest: rest.bytes, logBytes: rest.logBytes)
            }
            try await printer?.finish()
        } catch {
            upload?.cancel()
            _ = try? await upload?.value
            throw error
        }
    }

    /// Waits for `upload` and hands back its part's buffer, nil when there was none. The task holds
    /// a copy of its result: it is let go here, so the buffer can be emptied in place.
    static func finished(_ upload: inout Task<ByteBuffer, any Error>?) async throws -> ByteBuffer? {
        guard let task = upload else { return nil }
        upload = nil
        return try await task.value
    }
}
