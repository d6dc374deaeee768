package org.twobp.worker.schedule;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.twobp.worker.schedule.gen.ScheduleFamily;
import org.twobp.worker.schedule.picture.AsciiTimeline;
import org.twobp.worker.schedule.picture.TimelinePng;
import org.twobp.worker.schedule.sim.SimulationResult;
import org.twobp.worker.schedule.sim.Simulator;

class PictureTest {
    @Test
    void gridShowsOneRowPerRankWithBlankBubbles() {
        String grid = ScheduleGrid.render(Lowering.computeOnly(ScheduleFamily.ONE_F_ONE_B_1.build(4, 4, true, 1, 0)));
        List<String> rows = grid.lines().filter(l -> l.startsWith("rank")).toList();
        assertEquals(4, rows.size(), grid);
        assertTrue(rows.get(0).startsWith("rank 0 |F0 |F1 |F2 |F3 |           |I0 |W0 |"), grid);
        assertTrue(rows.get(3).contains("|I3 |W[0-3]"), grid);
    }

    @Test
    void asciiTimelineIsScaledToTheCosts() {
        SimulationResult r = Simulator.idealised().run(ScheduleFamily.GPIPE.build(2, 2, false, 1, 0));
        String text = AsciiTimeline.render(r, 100);
        assertTrue(text.contains("|B0"), text);
        assertTrue(AsciiTimeline.summary(r).startsWith("makespan 9"), AsciiTimeline.summary(r));
    }

    @Test
    void pngHasOnePanelPerSimulation(@TempDir Path dir) throws Exception {
        Simulator sim = Simulator.idealised();
        SimulationResult fused = sim.run(ScheduleFamily.ONE_F_ONE_B_1.build(4, 4, false, 1, 0));
        SimulationResult split = sim.run(ScheduleFamily.ONE_F_ONE_B_1.build(4, 4, true, 1, 0));
        Path file = dir.resolve("figure1.png");
        TimelinePng.write(file, "1F1B-1", List.of(new TimelinePng.Panel("without 2BP", fused),
                new TimelinePng.Panel("with 2BP", split)));
        BufferedImage image = ImageIO.read(file.toFile());
        assertEquals(1500, image.getWidth());
        BufferedImage one = TimelinePng.draw("x", List.of(new TimelinePng.Panel("only", fused)));
        assertTrue(image.getHeight() > one.getHeight() + 4 * 30, "two panels stacked");
    }
}
