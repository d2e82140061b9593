import SystemPackage

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
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
        _ = try FileSystemCalls.fileType(directory)
        let dataLink = directory + "/..data"
        for attempt in 1...attempts {
            // Resolve ..data once and read its target: paths through the symlink are resolved afresh on
            // every call, so reading `..data/<key>` one by one could mix two generations.
            let link = FileSystemCalls.readLink(dataLink)
            let target: String
            switch link {
            case .success(let name):
                target = name.hasPrefix("/") ? name : directory + "/" + name
            case .failure(let error) where error.errno == .noSuchFileOrDirectory:
                let files = kubeletOnly ? [:] : try readKeys(in: directory, plain: true)
                return Content(files: files, isKubeletManaged: false)
            case .failure(let error) where error.errno == .invalidArgument:
                target = dataLink  // a real directory named ..data: no generation to pin
            case .failure(let error):
                throw error
            }
            do {
                let files = try readKeys(in: target, plain: false)
                // A generation is removed only after ..data points elsewhere, and its name is never reused:
                // if ..data still points to it, it was whole while we listed and read it.
                if (try? FileSystemCalls.readLink(dataLink).get()) == (try? link.get()) {
                    return Content(files: files, isKubeletManaged: true)
                }
            } catch let error as SystemCallError where error.errno == .noSuchFileOrDirectory && attempt < attempts {
                continue
            }
        }
        // Replaced faster than it can be read.
        throw SystemCallError("read", dataLink, .resourceTemporarilyUnavailable)
    }

    /// Regular files, symlinks followed. A generation directory holds only keys, and a key may start with
    /// a single "."; in a plain directory dot-files are not keys, and a file deleted between listing and
    /// reading is simply gone.
    private static func readKeys(in directory: String, plain: Bool) throws -> [String: Data] {
        var files: [String: Data] = [:]
        for name in try FileSystemCalls.listNames(directory) where !(plain && name.hasPrefix(".")) {
            let path = directory + "/" + name
            do {
                guard try FileSystemCalls.fileType(path) == .regular else { continue }
                files[name] = try FileDescriptor.readWholeFile(path)
            } catch let error as SystemCallError where plain && error.errno == .noSuchFileOrDirectory {
                continue
            }
        }
        return files
    }
}
