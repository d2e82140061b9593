import Logging
import NIOSSL
import RayBridgeCore
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Trust roots for https to Ray and S3: the system's, plus the PEM certificates of `--ca-file`.
///
/// The file is usually a mounted Secret or ConfigMap key, which the kubelet replaces by swapping
/// `..data`: its identity is checked (one `stat`) before each request and the certificates are read
/// again when it changed, so a fixed CA is used without a restart.
public final class TrustRoots: Sendable {
    public let caFile: String?
    private let logger: Logger
    private let state = Mutex<State>(State())

    private struct State {
        var identity: FileIdentity?
        var current: Result<TLSConfiguration, TrustRootsError>?
    }

    /// What tells a changed file apart: a kubelet swap makes a new inode, an edit in place a new
    /// modification time or size.
    private struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: timespec

        static func == (a: Self, b: Self) -> Bool {
            a.device == b.device && a.inode == b.inode && a.size == b.size
                && a.modified.tv_sec == b.modified.tv_sec && a.modified.tv_nsec == b.modified.tv_nsec
        }
    }

    public init(caFile: String?, logger: Logger) {
        self.caFile = caFile.flatMap { $0.isEmpty ? nil : $0 }
        self.logger = logger
    }

    /// The TLS configuration for an https request; nil when no CA file is given (the HTTP client's
    /// own, system roots only). Throws when the CA file cannot be used: a request that would
    /// silently trust less than the user asked for is not sent.
    public func configuration() throws(TrustRootsError) -> TLSConfiguration? {
        guard let caFile else { return nil }
        var info = stat()
        guard stat(caFile, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            state.withLock { $0 = State() }
            throw TrustRootsError(file: caFile, reason: reason)
        }
        let identity = FileIdentity(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size), modified: info.st_mtim)
        let result = state.withLock { state -> Result<TLSConfiguration, TrustRootsError> in
            if state.identity == identity, let current = state.current { return current }
            let loaded = Self.load(caFile)
            state.identity = identity
            state.current = loaded
            switch loaded {
            case .success(let configuration):
                logger.info("trust roots read", metadata: ["caFile": "\(caFile)", "certificates": "\(Self.count(configuration))"])
            case .failure(let error):
                logger.error("cannot use the CA file", metadata: ["error": "\(error)"])
            }
            return loaded
        }
        return try result.get()
    }

    private static func count(_ configuration: TLSConfiguration) -> Int {
        guard case .certificates(let certificates) = configuration.additionalTrustRoots.first else { return 0 }
        return certificates.count
    }

    private static func load(_ path: String) -> Result<TLSConfiguration, TrustRootsError> {
        guard let data = FileManager.default.contents(atPath: path) else {
            return .failure(TrustRootsError(file: path, reason: "cannot read it"))
        }
        let certificates: [NIOSSLCertificate]
        do {
            certificates = try NIOSSLCertificate.fromPEMBytes(Array(data))
        } catch {
            return .failure(TrustRootsError(file: path, reason: "not a PEM certificate bundle (\(error))"))
        }
        guard !certificates.isEmpty else {
            return .failure(TrustRootsError(file: path, reason: "no PEM certificate in it"))
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        // The system roots stay trusted (`trustRoots` keeps its default); these come on top.
        configuration.additionalTrustRoots = [.certificates(certificates)]
        return .success(configuration)
    }
}

/// `--ca-file` cannot be used as a set of trust roots.
public struct TrustRootsError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var reason: String
    public var description: String { "the CA file \(file) (--ca-file) cannot be used: \(reason)" }
}
