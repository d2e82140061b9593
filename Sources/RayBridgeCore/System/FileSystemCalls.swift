import SystemPackage

#if canImport(Glibc)
import Glibc
#endif

/// The calls on paths that swift-system does not offer (or offers throwing a bare `Errno`), each
/// failing with a `SystemCallError` that names the call and the path.
package enum FileSystemCalls {
    /// The mode is masked by the umask: follow with `changePermissions` where others must read.
    package static func makeDirectory(_ path: String, permissions: FilePermissions) throws {
        try SystemCallError.check(mkdir(path, permissions.rawValue), "mkdir", path)
    }

    package static func changePermissions(_ path: String, to permissions: FilePermissions) throws {
        try SystemCallError.check(chmod(path, permissions.rawValue), "chmod", path)
    }

    package static func createSymbolicLink(at path: String, pointingTo target: String) throws {
        try SystemCallError.check(symlink(target, path), "symlink", path)
    }

    package static func rename(_ source: String, to destination: String) throws {
        try SystemCallError.check(Glibc.rename(source, destination), "rename", "\(source) -> \(destination)")
    }

    package static func removeFile(_ path: String) throws {
        try SystemCallError.check(unlink(path), "unlink", path)
    }

    package static func removeDirectory(_ path: String) throws {
        try SystemCallError.check(rmdir(path), "rmdir", path)
    }

    /// A result rather than a throw: most callers compare the target, or ask only whether the link is
    /// missing (ENOENT) or not a link (EINVAL).
    package static func readLink(_ path: String) -> Result<String, SystemCallError> {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let count = readlink(path, &buffer, buffer.count)
        guard count >= 0 else { return .failure(.last("readlink", path)) }
        return .success(String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    /// `stat`, or `lstat` when the link itself is asked about.
    package static func fileType(_ path: String, followingSymlink: Bool = true) throws -> FileType {
        do {
            return try Stat(FilePath(path), followTargetSymlink: followingSymlink).type
        } catch {
            throw SystemCallError(followingSymlink ? "stat" : "lstat", path, error)
        }
    }

    /// The entries of `directory` but "." and "..", in the order the file system lists them.
    package static func listNames(_ directory: String) throws -> [String] {
        guard let handle = opendir(directory) else { throw SystemCallError.last("opendir", directory) }
        defer { closedir(handle) }
        var names: [String] = []
        while true {
            // readdir returns nil both at the end and on failure; only errno tells them apart.
            Glibc.errno = 0
            guard let entry = readdir(handle) else {
                if Glibc.errno != 0 { throw SystemCallError.last("readdir", directory) }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    /// The absolute path with every symlink resolved.
    package static func canonicalPath(_ path: String) throws -> String {
        guard let resolved = realpath(path, nil) else { throw SystemCallError.last("realpath", path) }
        defer { free(resolved) }
        return String(cString: resolved)
    }
}
