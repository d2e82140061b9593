import Crypto
import Foundation
import RayBridgeCore
import ZIPFoundation

/// The job's working directory built here: a zip with `script.py` and the `jobdata.file.*` files
/// at its root, named after its content so an unchanged job is uploaded once
/// (`gcs://_ray_pkg_<hash>.zip`).
public struct WorkingDirPackage: Sendable, Equatable {
    public static let scriptName = Entrypoint.packagedScriptName

    /// `_ray_pkg_<hash>.zip`, the name under `/api/packages/gcs/`.
    public var name: String
    public var zip: Data

    public var uri: String { "gcs://\(name)" }

    public init(script: String) throws(WorkingDirPackageError) {
        try self.init(script: script, files: [])
    }

    /// `script.py` first, then `files` in the order given (the parser sorts them by name).
    public init(script: String, files: [JobFile]) throws(WorkingDirPackageError) {
        let entries = [(Self.scriptName, Data(script.utf8))] + files.map { ($0.name, Data($0.content.utf8)) }
        self.name = Self.name(entries)
        do {
            let archive = try Archive(data: Data(), accessMode: .create)
            for (path, bytes) in entries {
                try archive.addEntry(
                    with: path, type: .file, uncompressedSize: Int64(bytes.count),
                    modificationDate: Date(timeIntervalSince1970: 315_532_800),  // 1980-01-01, zip's epoch
                    permissions: 0o644, compressionMethod: .deflate,
                    provider: { position, size in bytes.subdata(in: Int(position)..<Int(position) + size) })
            }
            guard let data = archive.data else { throw WorkingDirPackageError.notBuilt("no archive data") }
            self.zip = data
        } catch let error as WorkingDirPackageError {
            throw error
        } catch {
            throw .notBuilt("\(error)")
        }
        if zip.count > JobFiles.maxPackageBytes {
            throw .tooLarge(bytes: zip.count)
        }
    }

    /// The hash covers what goes into the zip, not the zip's own bytes (which depend on the zlib
    /// that compressed them). A lone script keeps the name it had before there were other files;
    /// with files, every entry is length-prefixed, and the different first bytes ("script.py\0"
    /// against "files\0") keep the two forms apart.
    static func name(_ entries: [(String, Data)]) -> String {
        var hasher = SHA256()
        if entries.count == 1, let (path, bytes) = entries.first {
            hasher.update(data: Data("\(path)\0".utf8))
            hasher.update(data: bytes)
        } else {
            hasher.update(data: Data("files\0".utf8))
            for (path, bytes) in entries {
                hasher.update(data: Data("\(path)\0\(bytes.count)\0".utf8))
                hasher.update(data: bytes)
            }
        }
        return packageName(hasher.finalize())
    }

    /// `_ray_pkg_<first 16 bytes of the digest in hex>.zip`, for built packages and zips from S3 alike.
    static func packageName(_ digest: SHA256.Digest) -> String {
        "_ray_pkg_" + digest.prefix(16).map { String(format: "%02x", $0) }.joined() + ".zip"
    }
}

public enum WorkingDirPackageError: Error, Sendable, Equatable, CustomStringConvertible {
    case notBuilt(String)
    case tooLarge(bytes: Int)

    public var description: String {
        switch self {
        case .notBuilt(let reason): "could not build the working_dir zip in memory: \(reason)"
        case .tooLarge(let bytes):
            "the working_dir zip of the script and its files is \(bytes) bytes, more than the \(JobFiles.maxPackageBytes) Ray accepts"
        }
    }
}
