import CSystemCrypto

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

// SHA-256 and HMAC-SHA-256 from the system's libcrypto (OpenSSL 3, Debian's libssl3): the
// revision in the submission id, the working_dir package names and SigV4 need nothing else.
// Not swift-crypto: it compiles a BoringSSL of its own, 366 C++ files and 146 s of CPU in every
// cold debug build (more in release), for these two functions. swift-nio-ssl's BoringSSL is not
// public API.

/// SHA-256, fed piece by piece.
public struct SHA256Hasher: ~Copyable {
    private let context: OpaquePointer

    public init() {
        // Both fail only without memory, like an allocation in Swift.
        guard let context = EVP_MD_CTX_new() else { fatalError("libcrypto: EVP_MD_CTX_new failed (out of memory)") }
        guard EVP_DigestInit_ex(context, EVP_sha256(), nil) == 1 else { fatalError("libcrypto: EVP_DigestInit_ex(SHA-256) failed") }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        guard EVP_DigestUpdate(context, bytes.baseAddress, bytes.count) == 1 else { fatalError("libcrypto: EVP_DigestUpdate failed") }
    }

    public mutating func update(_ bytes: some DataProtocol) {
        for region in bytes.regions {
            region.withUnsafeBytes { update($0) }
        }
    }

    /// The 32 bytes of the digest.
    public consuming func finalize() -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard EVP_DigestFinal_ex(context, &digest, &length) == 1 else { fatalError("libcrypto: EVP_DigestFinal_ex failed") }
        return Array(digest.prefix(Int(length)))
    }

    public static func hash(_ bytes: some DataProtocol) -> [UInt8] {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }

    public static func hash(_ bytes: UnsafeRawBufferPointer) -> [UInt8] {
        var hasher = SHA256Hasher()
        hasher.update(bytes)
        return hasher.finalize()
    }
}

/// HMAC with SHA-256 (RFC 2104), as SigV4 derives its signing key and signs.
public enum HMACSHA256 {
    public static func authenticationCode(for message: [UInt8], key: [UInt8]) -> [UInt8] {
        var code = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        // A pointer for an empty key or message too: OpenSSL reads a NULL key as "the key set before".
        let (keyBytes, messageBytes) = (key.isEmpty ? [0] : key, message.isEmpty ? [0] : message)
        let done = keyBytes.withUnsafeBufferPointer { keyPointer in
            messageBytes.withUnsafeBufferPointer { messagePointer in
                HMAC(EVP_sha256(), keyPointer.baseAddress, Int32(key.count), messagePointer.baseAddress, message.count, &code, &length)
            }
        }
        guard done != nil else { fatalError("libcrypto: HMAC(SHA-256) failed") }
        return Array(code.prefix(Int(length)))
    }
}
