import SluiceSpool

/// `sluice spool check`: a full integrity check and the schema version; exit 1 on a problem.
struct Check {
    static let command = Command(
        name: "check", abstract: "Check the file's integrity and schema version (exit 1 on a problem, 2 when missing).",
        options: [SpoolLocation.option], run: { try Check(location: SpoolLocation($0)).run() })

    let location: SpoolLocation

    func run() throws {
        try reportingFailures {
            let report: Spool.CheckReport
            do {
                report = try location.open(.readOnly).check()
            } catch let failure as CommandFailure where failure.exitCode != 2 {
                throw CommandFailure("problem: \(failure.message)")
            }
            guard report.problems.isEmpty else {
                for problem in report.problems { print("problem: \(problem)") }
                throw CommandFailure("\(report.problems.count) problem(s) in \(location.resolvedPath)")
            }
            print("ok: \(location.resolvedPath), schema version \(report.schemaVersion), integrity ok")
        }
    }
}
