import Crypto
import Foundation
import RayBridgeCore
import ZIPFoundation

/// The script as Ray's `working_dir`: a zip with `script.py` at its root, named after its
/// content so an unchanged script is uploaded once (`gcs://_ray_pkg_<hash>.zip`).
public struct WorkingDirPackage: Sendable, Equatable {
    public static let scriptName = Entrypoint.packagedScriptName

    /// `_ray_pkg_<hash>.zip`, the name under `/api/packages/gcs/`.
    public var name: String
    public var zip: Data

    public var uri: String { "gcs://\(name)" }

    public init(script: String) throws {
        let bytes = Data(script.utf8)
        // The hash covers what goes into the zip, not the zip's own bytes, which carry a timestamp.
        var hasher = SHA256()
        hasher.update(data: Data("\(Self.scriptName)\0".utf8))
        hasher.update(data: bytes)
        let hex = hasher.finalize().prefix(16).map { String(format: "%02x", $0) }.joined()
        self.name = "_ray_pkg_\(hex).zip"

        let archive = try Archive(data: Data(), accessMode: .create)
        try archive.addEntry(
            with: Self.scriptName, type: .file, uncompressedSize: Int64(bytes.count),
            modificationDate: Date(timeIntervalSince1970: 315_532_800),  // 1980-01-01, zip's epoch
            permissions: 0o644, compressionMethod: .deflate,
            provider: { position, size in bytes.subdata(in: Int(position)..<Int(position) + size) })
        guard let data = archive.data else { throw WorkingDirPackageError() }
        self.zip = data
    }
}

public struct WorkingDirPackageError: Error, CustomStringConvertible {
    public var description: String { "could not build the working_dir zip in memory" }
}
