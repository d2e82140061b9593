import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads the keys of a mounted ConfigMap-like directory, either through `..data` or as plain files.
package enum KeyedDirectoryReader {
    package struct Content: Sendable {
        package var files: [String: Data]
        package var isKubeletManaged: Bool
    }

    /// A writer removes a generation right after publishing the next one; a reader that loses that race
    /// retries with the new generation. More attempts than this means something else is wrong.
    private static let attempts = 10

    package static func read(directory: String, kubeletOnly: Bool) throws -> Content {
        var info = stat()
        guard stat(directory, &info) == 0 else {
            throw DirectoryReadError(path: directory, operation: "stat", code: errno)
        }
        let dataLink = directory + "/..data"
        for attempt in 1...attempts {
            // Resolve ..data once and read its target: paths through the symlink are resolved afresh on
            // every call, so reading `..data/<key>` one by one could mix two generations.
            let target: String
            let link = readLink(dataLink)
            if let name = link.target {
                target = name.hasPrefix("/") ? name : directory + "/" + name
            } else if link.code == ENOENT {
                let files = kubeletOnly ? [:] : try readKeys(in: directory, plain: true)
                return Content(files: files, isKubeletManaged: false)
            } else if link.code == EINVAL {
                target = dataLink  // a real directory named ..data: no generation to pin
            } else {
                throw DirectoryReadError(path: dataLink, operation: "readlink", code: link.code)
            }
            do {
                let files = try readKeys(in: target, plain: false)
                // A generation is removed only after ..data points elsewhere, and its name is never reused:
                // if ..data still points to it, it was whole while we listed and read it.
                if readLink(dataLink).target == link.target {
                    return Content(files: files, isKubeletManaged: true)
                }
            } catch let error as DirectoryReadError where error.code == ENOENT && attempt < attempts {
                continue
            }
        }
        // Replaced faster than it can be read.
        throw DirectoryReadError(path: dataLink, operation: "read", code: EAGAIN)
    }

    /// Regular files, symlinks followed. A generation directory holds only keys, and a key may start with
    /// a single "."; in a plain directory dot-files are not keys, and a file deleted between listing and
    /// reading is simply gone.
    private static func readKeys(in directory: String, plain: Bool) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try listNames(directory) where !(plain && name.hasPrefix(".")) {
            let path = directory + "/" + name
            do {
                var info = stat()
                guard stat(path, &info) == 0 else { throw DirectoryReadError(path: path, operation: "stat", code: errno) }
                guard (info.st_mode & S_IFMT) == S_IFREG else { continue }
                files[name] = try readFile(path)
            } catch let error as DirectoryReadError where plain && error.code == ENOENT {
                continue
            }
        }
        return files
    }

    package static func listNames(_ directory: String) throws -> [String] {
        guard let handle = opendir(directory) else {
            throw DirectoryReadError(path: directory, operation: "opendir", code: errno)
        }
        defer { closedir(handle) }
        var names: [String] = []
        while true {
            errno = 0
            guard let entry = readdir(handle) else {
                if errno != 0 { throw DirectoryReadError(path: directory, operation: "readdir", code: errno) }
                return names
            }
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != "." && name != ".." { names.append(name) }
        }
    }

    package static func readFile(_ path: String) throws -> Data {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw DirectoryReadError(path: path, operation: "open", code: errno) }
        defer { close(fd) }
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw DirectoryReadError(path: path, operation: "read", code: errno)
            }
            if count == 0 { return data }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    /// The symlink's target, or nil and the errno of `readlink`.
    package static func readLink(_ path: String) -> (target: String?, code: Int32) {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX))
        let count = readlink(path, &buffer, buffer.count)
        guard count >= 0 else { return (nil, errno) }
        return (String(decoding: buffer[..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self), 0)
    }
}
