using Relay.LoadGen;

namespace Relay.CoreSim.Tests.LoadGen;

[TestFixture]
public sealed class DeliveryCounterTests
{
    [Test]
    public void Record_GapInASendersSequence_CountsTheSkippedMessagesAsLost()
    {
        // Sender 7 sent 1..10; 3..6 never arrived (a core restart lost them): 4 lost, nothing out of order.
        var counter = new DeliveryCounter();
        foreach (long n in new long[] { 1, 2, 7, 8, 9, 10 })
        {
            counter.Record(7, n);
        }

        Assert.Multiple(() =>
        {
            Assert.That(counter.Lost(7, sent: 10), Is.EqualTo(4));
            Assert.That(counter.Received, Is.EqualTo(6));
            Assert.That(counter.OutOfOrder, Is.Zero);
            Assert.That(counter.Duplicated, Is.Zero);
        });
    }

    [Test]
    public void Record_SkippedMessageArrivesLate_OutOfOrderNotLost()
    {
        var counter = new DeliveryCounter();
        foreach (long n in new long[] { 1, 3, 2, 4 })
        {
            counter.Record(1, n);
        }

        Assert.Multiple(() =>
        {
            Assert.That(counter.Lost(1, sent: 4), Is.Zero);
            Assert.That(counter.Received, Is.EqualTo(4));
            Assert.That(counter.OutOfOrder, Is.EqualTo(1));
            Assert.That(counter.Duplicated, Is.Zero);
        });
    }

    [Test]
    public void Record_TailNeverArrives_CountsAsLost()
    {
        var counter = new DeliveryCounter();
        counter.Record(1, 1);
        counter.Record(1, 1);
        Assert.Multiple(() =>
        {
            Assert.That(counter.Lost(1, sent: 3), Is.EqualTo(2));
            Assert.That(counter.Duplicated, Is.EqualTo(1));
        });
    }
}
