import Foundation
import RayBridge
import RayBridgeClients
import RayBridgeCore
import Synchronization
import Testing

@Suite struct AtomicDirectoryWriterTests {
    private func data(_ pairs: [String: String]) -> [String: Data] {
        pairs.mapValues { Data($0.utf8) }
    }

    private func entries(_ path: String) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: path))
    }

    private func link(_ path: String) throws -> String {
        try FileManager.default.destinationOfSymbolicLink(atPath: path)
    }

    private func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
    }

    @Test func producesTheKubeletLayout() throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let dir = temp.sub("volume/nested")  // created by the writer
        let writer = AtomicDirectoryWriter(directory: dir)

        #expect(try writer.write(data(["a": "1", "b": "2"])))
        let first = try link(dir + "/..data")
        #expect(first.wholeMatch(of: /\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.[0-9a-z]+/) != nil)
        #expect(try entries(dir) == ["..data", first, "a", "b"])
        #expect(try link(dir + "/a") == "..data/a")
        #expect(try link(dir + "/b") == "..data/b")
        #expect(try mode(dir + "/" + first) == 0o755)
        #expect(try mode(dir + "/" + first + "/a") == 0o644)
        #expect(try String(contentsOfFile: dir + "/b", encoding: .utf8) == "2")
        #expect(try writer.read() == data(["a": "1", "b": "2"]))

        #expect(try writer.write(data(["a": "11", "c": "3"])))
        let second = try link(dir + "/..data")
        #expect(second != first)
        #expect(try entries(dir) == ["..data", second, "a", "c"])  // old generation and b's symlink gone
        #expect(try link(dir + "/c") == "..data/c")
        #expect(try String(contentsOfFile: dir + "/a", encoding: .utf8) == "11")
        #expect(try DirectorySnapshot.read(directory: dir).values == ["a": "11", "c": "3"])
        #expect(try DirectorySnapshot.read(directory: dir).isKubeletManaged)
    }

    @Test func identicalContentWritesNothing() throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let writer = AtomicDirectoryWriter(directory: temp.path)
        #expect(try writer.write(data(["a": "1"])))
        let before = try link(temp.sub("..data"))
        #expect(try writer.write(data(["a": "1"])) == false)
        #expect(try link(temp.sub("..data")) == before)
        #expect(try writer.write([:]))
        #expect(try entries(temp.path).count == 2)  // ..data and an empty generation
        #expect(try writer.write([:]) == false)
    }

    @Test func recoversFromACrashedWrite() throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let writer = AtomicDirectoryWriter(directory: temp.path)
        try writer.write(data(["a": "1"]))
        // A crash after mkdir and symlink, before rename, leaves both behind.
        let orphan = temp.sub("..2020_01_01_00_00_00.crash01")
        try FileManager.default.createDirectory(atPath: orphan, withIntermediateDirectories: false)
        try Data("x".utf8).write(to: URL(fileURLWithPath: orphan + "/a"))
        try FileManager.default.createSymbolicLink(atPath: temp.sub("..data_tmp"), withDestinationPath: "..2020_01_01_00_00_00.crash01")

        #expect(try writer.write(data(["a": "2"])))
        let current = try link(temp.sub("..data"))
        #expect(try entries(temp.path) == ["..data", current, "a"])
        #expect(try writer.read() == data(["a": "2"]))
    }

    @Test(arguments: ["a/b", "..x", "..data", "", "."])
    func rejectsKeysThatAreNotPlainNames(key: String) throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let error = #expect(throws: InvalidKeyError.self) {
            try AtomicDirectoryWriter(directory: temp.path).write([key: Data()])
        }
        #expect(error?.key == key)
        #expect(try entries(temp.path).isEmpty)
    }

    @Test func errorsNameThePathAndTheCall() throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        try Data().write(to: URL(fileURLWithPath: temp.sub("file")))
        let error = #expect(throws: SystemCallError.self) {
            try AtomicDirectoryWriter(directory: temp.sub("file/sub")).write(["a": Data()])
        }
        #expect(error?.description == "mkdir(\(temp.sub("file/sub"))) failed: Not a directory")
        let readError = #expect(throws: SystemCallError.self) {
            try DirectorySnapshot.read(directory: temp.sub("missing"))
        }
        #expect(readError?.description == "stat(\(temp.sub("missing"))) failed: No such file or directory")
    }

    /// Each update writes one generation number into every file: a reader must never see two numbers.
    @Test func concurrentReaderSeesWholeGenerationsOnly() async throws {
        let temp = try WatchTestDirectory()
        defer { temp.remove() }
        let writer = AtomicDirectoryWriter(directory: temp.path)
        let keys = (0..<5).map { "key\($0)" }
        try writer.write(Dictionary(uniqueKeysWithValues: keys.map { ($0, Data("0".utf8)) }))

        let stop = Atomic<Bool>(false)
        let result = Mutex<(reads: Int, errors: [String], generations: Set<String>)>((0, [], []))
        let done = Mutex<CheckedContinuation<Void, Never>?>(nil)
        let finished = Atomic<Bool>(false)
        let reader = Thread {
            while !stop.load(ordering: .relaxed) {
                do {
                    let snapshot = try DirectorySnapshot.read(directory: temp.path)
                    let values = Set(snapshot.values.values)
                    result.withLock { state in
                        state.reads += 1
                        state.generations.formUnion(values)
                        if snapshot.values.count != keys.count || values.count != 1 {
                            state.errors.append("mixed read: \(snapshot.values)")
                        }
                    }
                } catch {
                    result.withLock { $0.errors.append("\(error)") }
                }
            }
            finished.store(true, ordering: .releasing)
            done.withLock {
                $0?.resume(); $0 = nil
            }
        }
        reader.start()

        let start = ContinuousClock.now
        for generation in 1...300 {
            // Vary the sizes so a torn read would show.
            let value = String(repeating: "\(generation)", count: 1 + generation % 7)
            try writer.write(Dictionary(uniqueKeysWithValues: keys.map { ($0, Data(value.utf8)) }))
        }
        let elapsed = ContinuousClock.now - start
        stop.store(true, ordering: .relaxed)
        await withCheckedContinuation { continuation in
            let alreadyDone = done.withLock { slot -> Bool in
                if finished.load(ordering: .acquiring) { return true }
                slot = continuation
                return false
            }
            if alreadyDone { continuation.resume() }
        }
        let state = result.withLock { $0 }
        print("300 writes of 5 files in \(elapsed); reader did \(state.reads) reads, saw \(state.generations.count) generations")
        #expect(state.errors.isEmpty, "\(state.errors.prefix(5))")
        #expect(state.reads > 300)
        #expect(state.generations.count > 10)
    }
}
