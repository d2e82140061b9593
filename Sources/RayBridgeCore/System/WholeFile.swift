import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

#if canImport(Glibc)
import Glibc
#endif

/// Whole-file reads and writes on swift-system's `FileDescriptor`, whose `read(into:)` and `writeAll`
/// retry EINTR. Every descriptor is opened close-on-exec, so no child process inherits it.
extension FileDescriptor {
    package static func open(
        path: String, _ mode: AccessMode, options: OpenOptions = [], permissions: FilePermissions? = nil
    ) throws -> FileDescriptor {
        try SystemCallError.attempt("open", path) {
            try FileDescriptor.open(
                FilePath(path), mode, options: options.union(.closeOnExec), permissions: permissions)
        }
    }

    package static func readWholeFile(_ path: String) throws -> Data {
        let fd = try open(path: path, .readOnly)
        defer { try? fd.close() }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = try SystemCallError.attempt("read", path) {
                try buffer.withUnsafeMutableBytes { try fd.read(into: $0) }
            }
            if count == 0 { return data }
            data.append(contentsOf: buffer[..<count])
        }
    }

    /// Creates `path` (exclusively, or replacing an existing file) with exactly `permissions`, writes
    /// `data`, and makes it durable. The mode is set again after open because open's is masked by the
    /// umask, and other uids must be able to read these files. A failed close is reported: some file
    /// systems report a failed write only there.
    package static func writeWholeFile(
        _ data: Data, to path: String, permissions: FilePermissions, replacing: Bool
    ) throws {
        let options: OpenOptions = replacing ? [.create, .truncate] : [.create, .exclusiveCreate]
        let fd = try open(path: path, .writeOnly, options: options, permissions: permissions)
        do {
            try SystemCallError.check(fchmod(fd.rawValue, permissions.rawValue), "fchmod", path)
            try SystemCallError.attempt("write", path) { try fd.writeAll(data) }
            try fd.sync(path)
        } catch {
            try? fd.close()
            throw error
        }
        try SystemCallError.attempt("close", path) { try fd.close() }
    }

    /// Makes the directory's entries (new names, renames) durable, as fsync of a file does not.
    package static func syncDirectory(_ path: String) throws {
        let fd = try open(path: path, .readOnly, options: .directory)
        defer { try? fd.close() }
        try fd.sync(path)
    }

    /// `path` names the file in the error.
    package func sync(_ path: String) throws {
        try SystemCallError.check(fsync(rawValue), "fsync", path)
    }
}

/// Replaces a file so that after a crash it holds either the old or the new bytes, never a mix.
public enum DurableFile {
    /// Only the owner reads these files (the journal, upload state).
    private static let permissions: FilePermissions = .ownerReadWrite

    public static func write(_ data: Data, to path: String) throws {
        let tmp = path + ".tmp"
        try FileDescriptor.writeWholeFile(data, to: tmp, permissions: permissions, replacing: true)
        try FileSystemCalls.rename(tmp, to: path)
        // Without it the rename may not survive a crash; either way the file is whole, old or new, so a
        // directory that cannot be synced is no reason to fail the write.
        try? FileDescriptor.syncDirectory(FilePaths.parent(of: path))
    }
}
