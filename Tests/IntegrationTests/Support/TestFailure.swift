/// A test's own precondition that failed (a service that does not start, a command that fails).
struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
