import ArgumentParser
import SluiceSpool

/// `sluice spool check`: a full integrity check and the schema version; exit 1 on a problem.
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the file's integrity and schema version (exit 1 on a problem, 2 when missing).")

    @OptionGroup var location: SpoolLocation

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
