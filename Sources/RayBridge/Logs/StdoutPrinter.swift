import Logging
import NIOCore
import NIOPosix
import RayBridgeClients
import RayBridgeCore
import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where `--driver-log-stdout` writes: the sidecar's standard output, a recorder in tests.
public protocol LogOutput: Sendable {
    func write(_ bytes: ByteBuffer) async throws
}

/// The sidecar's standard output. A write blocks while the pipe is full (the kubelet's log reader
/// sets the pace, and the follower waits meanwhile: a fast log does not grow memory), so writes run
/// on a thread of their own, not on a task's; one thread, so the writes of two runs never mix.
public final class StandardOutput: LogOutput {
    public static let shared = StandardOutput()

    private let pool: NIOThreadPool

    private init() {
        pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
    }

    public func write(_ bytes: ByteBuffer) async throws {
        try await pool.runIfActive {
            _ = try bytes.withUnsafeReadableBytes { try FileDescriptor.standardOutput.writeAll($0) }
        }
    }
}

/// One run's driver log on standard output (`--driver-log-stdout`), as Ray has it, in whole lines
/// only: raybridge's own lines go to standard error, and a reader merging the two streams (as
/// `kubectl logs` does) never finds one inside a driver line. How much is printed is kept in the
/// status directory after every write, so that a restart prints on from there: after a shutdown no
/// line twice, after a SIGKILL at most the last write again.
actor StdoutPrinter {
    /// A line longer than this is printed without waiting for its end (memory stays bounded).
    static let longestLine = 256 << 10

    private let output: any LogOutput
    private let store: LogUploadStore
    private var state: PrintedLog
    /// The start of a line not ended yet, not printed (it starts at `state.printed`).
    private var pending = ByteBuffer()
    private let logger: Logger
    private var failed = false

    init(submissionId: String, rayURL: URL?, rayVersion: RayVersion?, output: any LogOutput, store: LogUploadStore, logger: Logger) {
        self.output = output
        self.store = store
        self.logger = logger
        state = store.loadPrinted(submissionId) ?? PrintedLog(submissionId: submissionId, rayURL: rayURL, rayVersion: rayVersion?.text)
    }

    /// Bytes of the log printed.
    var printed: Int64 { state.printed }
    var isComplete: Bool { state.complete }

    /// Takes `bytes`, which start at `offset` in the log; prints the lines they complete.
    func take(_ bytes: ByteBuffer, at offset: Int64) async throws {
        let known = state.printed + Int64(pending.readableBytes)
        let end = offset + Int64(bytes.readableBytes)
        guard end > known else { return }
        // The follower starts at or before what was printed: never a gap.
        assert(offset <= known, "bytes from \(offset), printed up to \(known)")
        var bytes = bytes
        bytes.moveReaderIndex(forwardBy: Int(max(known - offset, 0)))
        pending.writeBuffer(&bytes)
        let view = pending.readableBytesView
        if let newline = view.lastIndex(of: UInt8(ascii: "\n")) {
            try await print(view.distance(from: view.startIndex, to: newline) + 1)
        } else if pending.readableBytes > Self.longestLine {
            try await print(pending.readableBytes)
        }
    }

    /// The log is over: what is left (a last line without its end) is printed.
    func finish() async throws {
        if pending.readableBytes > 0 { try await print(pending.readableBytes) }
        state.complete = true
        save()
    }

    /// Records how far standard output got.
    func save() {
        do {
            try store.savePrinted(state)
        } catch {
            logger.warning("cannot record how much of the driver log is printed", metadata: ["error": "\(error)"])
        }
    }

    private func print(_ count: Int) async throws {
        let chunk = pending.readSlice(length: count)!
        pending.discardReadBytes()
        if !failed {
            do {
                try await output.write(chunk)
            } catch is CancellationError {
                // A shutdown caught the write before it ran (the thread pool then writes nothing):
                // not printed, so not counted, and the next process prints it. Counting it as the
                // failure below would skip it for good.
                var unprinted = chunk
                unprinted.writeBuffer(&pending)
                pending = unprinted
                throw CancellationError()
            } catch {
                // Standard output is gone (nobody reads the pipe): the log still goes to S3, if set.
                failed = true
                logger.error("cannot write the driver log to standard output; it is not printed any more", metadata: ["error": "\(error)"])
            }
        }
        state.printed += Int64(count)
        save()
    }
}
