import AsyncHTTPClient
import Crypto
import NIOCore
import RayBridgeCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A job's whole working directory as a zip in S3 (`jobdata.scriptLocation: s3` with a `.zip`
/// key): checked from its last bytes, named after its content, and copied from S3 to Ray as it
/// streams. Memory holds a few network buffers whatever its size (Ray takes up to 100 MiB),
/// where holding it whole would have been more than the sidecar's usual footprint.
public struct S3ZipWorkingDir: Sendable, Equatable {
    public var ref: S3ObjectRef
    /// The version that was checked: every later read asks for it (`If-Match`), so what is
    /// named, checked and copied is one and the same object.
    public var etag: String
    public var size: Int64
    /// `_ray_pkg_<hash>.zip`, the SHA-256 of the zip's bytes.
    public var name: String

    public var uri: String { "gcs://\(name)" }

    /// The largest central directory read: about 200,000 entries.
    static let maxDirectoryBytes = 16 << 20

    /// Reads the object's end (one ranged GET, two for a zip of very many files) and checks that
    /// it is a zip Ray can unpack with `script.py` at its root; then names it by its content,
    /// reading it once more unless `known` (the last one prepared) is this very version.
    public static func prepare(_ ref: S3ObjectRef, s3: S3Client, known: S3ZipWorkingDir?) async throws(S3ZipError) -> S3ZipWorkingDir {
        let tail: S3Client.Response
        do {
            tail = try await s3.getObject(
                bucket: ref.bucket, key: ref.key, range: "bytes=-\(ZipDirectory.tailBytes)", ifMatch: nil, maxBytes: ZipDirectory.tailBytes)
        } catch {
            throw .classify(error, ref)
        }
        guard let etag = tail.headers.first(name: "etag") else {
            throw .unreadable("\(ref): S3 answered without an ETag, so the object's version cannot be pinned while it is read")
        }
        let size = Self.objectSize(tail)
        guard size <= JobFiles.maxPackageBytes else {
            throw .unusable("\(ref) is \(size) bytes, more than the \(JobFiles.maxPackageBytes) bytes Ray accepts for a working directory")
        }
        if let known, known.ref == ref, known.etag == etag, known.size == size { return known }

        let entries: [ZipDirectory.Entry]
        do {
            let directory = try ZipDirectory.locate(tail: tail.body, archiveSize: size)
            let tailStart = size - Int64(tail.body.count)
            let bytes: Data
            if directory.offset >= tailStart {
                let from = Int(directory.offset - tailStart)
                bytes = tail.body.subdata(in: from..<from + Int(directory.size))
            } else if directory.size > maxDirectoryBytes {
                throw S3ZipError.unusable(
                    "\(ref) has a central directory of \(directory.size) bytes, more than the \(maxDirectoryBytes) raybridge reads")
            } else {
                do {
                    bytes = try await s3.getObject(
                        bucket: ref.bucket, key: ref.key, range: "bytes=\(directory.offset)-\(directory.offset + directory.size - 1)",
                        ifMatch: etag, maxBytes: maxDirectoryBytes
                    ).body
                } catch {
                    throw S3ZipError.classify(error, ref)
                }
            }
            entries = try ZipDirectory.entries(bytes)
        } catch let error as ZipFormatError {
            throw .unusable("\(ref) \(error)")
        } catch let error as S3ZipError {
            throw error
        } catch {
            throw .unreadable("\(ref): \(error)")
        }
        if let problem = ZipDirectory.workingDirProblem(entries) {
            throw .unusable("\(ref) \(problem)")
        }
        let name = try await contentName(ref, etag: etag, size: size, s3: s3)
        return S3ZipWorkingDir(ref: ref, etag: etag, size: size, name: name)
    }

    /// Copies the zip to Ray unless the cluster has it. A failure of S3 is an `S3ZipError`, one
    /// of Ray a `RayClientError`.
    public func ensure(on ray: RayClient, from s3: S3Client) async throws {
        guard try await !ray.hasPackage(name) else { return }
        let body: HTTPClientResponse.Body
        do {
            body = try await s3.streamObject(bucket: ref.bucket, key: ref.key, ifMatch: etag)
        } catch {
            throw S3ZipError.classify(error, ref)
        }
        let watched = WatchedBody(body)
        do {
            try await ray.putPackage(name, body: .stream(watched, length: .known(size)), bytes: size)
        } catch {
            if let failure = watched.failure {
                throw S3ZipError.unreadable("\(ref) could not be read to its end while it was copied to Ray: \(failure)")
            }
            throw error
        }
    }

    /// The total from `Content-Range: bytes 0-99/100`; a server that ignored the range sent it all.
    static func objectSize(_ response: S3Client.Response) -> Int64 {
        if let range = response.headers.first(name: "content-range"), let slash = range.lastIndex(of: "/"),
            let total = Int64(range[range.index(after: slash)...])
        {
            return total
        }
        return Int64(response.body.count)
    }

    /// SHA-256 of the bytes, streamed. "zip\0" first keeps these names apart from those of the
    /// packages built here, whose hashes start with an entry's name.
    static func contentName(_ ref: S3ObjectRef, etag: String, size: Int64, s3: S3Client) async throws(S3ZipError) -> String {
        let body: HTTPClientResponse.Body
        do {
            body = try await s3.streamObject(bucket: ref.bucket, key: ref.key, ifMatch: etag)
        } catch {
            throw .classify(error, ref)
        }
        // The stream has no deadline of its own: a stalled one ends here, with time for 1 MiB/s.
        let limit = Duration.seconds(60 + (size >> 20))
        do {
            return try await withThrowingTaskGroup(of: String?.self) { group in
                group.addTask {
                    var hasher = SHA256()
                    hasher.update(data: Data("zip\0".utf8))
                    var read: Int64 = 0
                    for try await chunk in body {
                        read += Int64(chunk.readableBytes)
                        guard read <= size else { break }
                        chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
                    }
                    guard read == size else {
                        throw S3ZipError.unreadable("\(ref) gave \(read) bytes where its length is \(size); it is read again")
                    }
                    return WorkingDirPackage.packageName(hasher.finalize())
                }
                group.addTask {
                    try await Task.sleep(for: limit)
                    return nil
                }
                defer { group.cancelAll() }
                guard let name = try await group.next() ?? nil else {
                    throw S3ZipError.unreadable("\(ref) was not read to its end within \(limit); it is read again")
                }
                return name
            }
        } catch let error as S3ZipError {
            throw error
        } catch {
            throw .unreadable("\(ref) could not be read to its end: \(TransportFailure.describe(error))")
        }
    }
}

/// Why a working directory zip in S3 cannot be used, said about the object.
public enum S3ZipError: Error, Sendable, Equatable, CustomStringConvertible {
    /// It cannot be a working directory as it is (missing, no zip, too large, no `script.py`):
    /// an edit or a new upload has to fix it.
    case unusable(String)
    /// S3 failed, or the object changed while it was read: worth trying again.
    case unreadable(String)

    public var description: String {
        switch self {
        case .unusable(let text), .unreadable(let text): text
        }
    }

    public var isRetryable: Bool {
        if case .unreadable = self { true } else { false }
    }

    static func classify(_ error: S3Error, _ ref: S3ObjectRef) -> S3ZipError {
        var status = 0
        if case .service(let code, _, _, _) = error { status = code }
        switch (status, error.code) {
        case (_, "NoSuchKey"), (_, "NoSuchBucket"): return .unusable("cannot fetch \(ref): \(error)")
        // A suffix range of an empty object cannot be satisfied.
        case (416, _), (_, "InvalidRange"): return .unusable("\(ref) is empty, not a zip archive")
        // The If-Match of a later read: the object was replaced since its end was read.
        case (412, _), (_, "PreconditionFailed"): return .unreadable("\(ref) changed while it was read; it is read again")
        default: return .unreadable("cannot fetch \(ref): \(error)")
        }
    }
}

/// The S3 body on its way to Ray, remembering whether S3 failed: the upload's error alone would
/// blame Ray.
private struct WatchedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    final class Recorder: Sendable {
        let error = Mutex<String?>(nil)
    }

    let body: HTTPClientResponse.Body
    let failed = Recorder()

    init(_ body: HTTPClientResponse.Body) { self.body = body }

    var failure: String? { failed.error.withLock { $0 } }

    struct AsyncIterator: AsyncIteratorProtocol {
        var inner: HTTPClientResponse.Body.AsyncIterator
        let failed: Recorder

        mutating func next() async throws -> ByteBuffer? {
            do {
                return try await inner.next()
            } catch {
                let text = TransportFailure.describe(error)
                failed.error.withLock { $0 = text }
                throw error
            }
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(inner: body.makeAsyncIterator(), failed: failed) }
}
