/// Not yet written: the sweep finds nothing (the behaviour under test).
enum InotifyWakeDirectory {
    static let lockName = "owner.lock"

    static func sweep(base: String) -> [String] { [] }
}
