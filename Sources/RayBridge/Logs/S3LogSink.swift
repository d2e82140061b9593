import Logging
import NIOCore
import RayBridgeClients
import RayBridgeCore

/// Ships one run's driver log to S3 until its object is complete: takes the follower's bytes, cuts
/// them into parts (`PartCutter`) and uploads them (`MultipartUploadSession`), one part uploading
/// while the next fills, so memory holds at most two parts plus the follower's queue.
///
/// Byte-exact across restarts: the session knows what S3 holds, and the follower is started at that
/// offset (it skips what Ray replays). Cancellation (shutdown) stops at once; what was uploaded is
/// recorded and the next start resumes it. Restarts wait on `clock`, so tests move time.
struct S3LogSink<C: Clock>: Sendable where C.Duration == Duration {
    let session: MultipartUploadSession
    let configuration: LogShippingConfiguration
    var compression: LogCompression = .none
    /// A follower of the run's log from the given offset.
    let follow: @Sendable (Int64) -> DriverLogFollower<C>
    let onRunState: @Sendable (RayJobDetails) -> Void
    /// Ray lost the run (a head restarted without persistence): its log will never be whole, so
    /// the object is completed with what was read.
    let abandoned: @Sendable () async -> Bool
    let clock: C
    let logger: Logger

    func run() async {
        guard await !session.isComplete else { return }
        await session.report()
        do { try await session.resume() } catch { return }
        if await abandoned() {
            try? await session.finish(rest: ByteBuffer())
            let bytes = await session.shipped
            logger.info("the run was lost; its log object is completed as it is", metadata: ["bytes": "\(bytes)"])
            return
        }
        var failures = 0
        while !Task.isCancelled {
            do {
                try await ship()
                let (destination, bytes, parts) = (await session.destination, await session.shipped, await session.nextPart - 1)
                logger.info("driver log shipped", metadata: ["destination": "\(destination)", "bytes": "\(bytes)", "parts": "\(parts)"])
                return
            } catch {
                if error is CancellationError || Task.isCancelled { return }
                // The upload vanished, or a part could not be recorded: again from what S3 holds.
                failures += 1
                await session.interrupted("\(error)", attempt: failures)
                do { try await clock.sleep(for: configuration.retryBackoff.delay(afterFailures: failures)) } catch { return }
            }
        }
    }

    /// Follows the log from what S3 holds to its end and completes the object.
    func ship() async throws {
        var cutter = PartCutter(
            nextPart: await session.nextPart, partSize: { [configuration] in configuration.partSize(forPart: $0) }, compression: compression)
        var upload: Task<ByteBuffer, any Error>?
        do {
            reading: for try await event in follow(await session.shipped) {
                switch event {
                case .bytes(let bytes):
                    cutter.append(bytes)
                    while cutter.hasFullPart {
                        var spare = try await Self.finished(&upload)
                        let part = cutter.cut(reusing: &spare)!
                        // Unstructured so that the part uploads while this loop reads the next one;
                        // it never outlives `ship()`: awaited before the next part, at the end, or
                        // cancelled and awaited on the way out (the catch below).
                        upload = Task { [session] in
                            try await session.upload(part.bytes, logBytes: part.logBytes)
                            return part.storage
                        }
                    }
                case .runEnded(let details), .runGoesOn(let details):
                    onRunState(details)
                case .interrupted(let reason):
                    // Ray cannot be read; if it forgot the run, what was read is all there is.
                    if await abandoned() { break reading }
                    await session.interrupted(reason)
                }
            }
            _ = try await Self.finished(&upload)
            let rest = cutter.takeRest()
            try await session.finish(rest: rest.bytes, logBytes: rest.logBytes)
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
