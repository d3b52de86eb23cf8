import SluiceTime
import Testing

@Suite struct StageCPUTests {
    /// Spins on the calling thread until it has used `milliseconds` of CPU.
    static func spin(milliseconds: Int64) {
        let start = StageCPU.threadNanoseconds()
        while StageCPU.threadNanoseconds() - start < milliseconds * 1_000_000 {}
    }

    @Test func aStageGetsTheCPUItsThreadSpentAndOtherIsTheRestOfTheProcess() {
        let cpu = StageCPU()
        let before = StageCPU.processNanoseconds()
        cpu.measure(.encode) { Self.spin(milliseconds: 30) }
        cpu.measure(.encode) { Self.spin(milliseconds: 10) }
        let snapshot = cpu.snapshot()
        let encode = snapshot.stages.first { $0.stage == .encode }?.milliseconds ?? 0
        #expect(encode >= 40, "both measurements are added")
        #expect(encode < 40 + 20, "a measurement holds what its body spent, not much more")
        #expect(snapshot.stages.filter { $0.stage != .encode }.allSatisfy { $0.milliseconds == 0 })
        #expect(snapshot.totalMilliseconds >= Double(before) / 1e6 + encode, "the process's total holds every stage")
        #expect(snapshot.otherMilliseconds == snapshot.totalMilliseconds - encode)
        #expect(
            snapshot.fields.map(\.name) == [
                "total", "ingest", "spoolAppend", "leaseSettle", "encode", "answer", "other",
            ])
    }

    @Test func aThrowingBodyIsCountedAndItsErrorPassesThrough() {
        struct Refused: Error {}
        let cpu = StageCPU()
        #expect(throws: Refused.self) {
            try cpu.measure(.ingest) { () throws(Refused) in
                Self.spin(milliseconds: 5)
                throw Refused()
            }
        }
        #expect((cpu.snapshot().stages.first { $0.stage == .ingest }?.milliseconds ?? 0) >= 5)
    }
}
