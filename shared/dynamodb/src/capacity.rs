//! Capacity accounting. With a [`CapacityMeter`] attached, the store asks
//! DynamoDB for the capacity each request consumed (`ReturnConsumedCapacity =
//! TOTAL`) and records it, and also records an estimate computed from the item
//! sizes by DynamoDB's billing rules: emulators such as moto report placeholder
//! figures (and nothing for transactions), and the estimate is what AWS bills.
//!
//! Rules applied: a strongly consistent read costs 1 RCU per 4 KB (a query
//! sums its items' sizes first; an eventually consistent one, such as a GSI
//! query, half); a transactional read 2 RCU per 4 KB per item; a transactional
//! write 2 WCU per 1 KB per item. Every request costs at least one unit.

use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity};

use crate::items::Item;

/// Capacity used, in units.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Capacity {
    /// Read units DynamoDB reported.
    pub reported_read: f64,
    /// Write units DynamoDB reported (reads and writes, when it reports a total only).
    pub reported_total: f64,
    /// Read units by the billing rules.
    pub estimated_read: f64,
    /// Write units by the billing rules.
    pub estimated_write: f64,
    /// Requests sent (round trips).
    pub requests: u64,
}

impl std::ops::Sub for Capacity {
    type Output = Capacity;
    fn sub(self, other: Capacity) -> Capacity {
        Capacity {
            reported_read: self.reported_read - other.reported_read,
            reported_total: self.reported_total - other.reported_total,
            estimated_read: self.estimated_read - other.estimated_read,
            estimated_write: self.estimated_write - other.estimated_write,
            requests: self.requests - other.requests,
        }
    }
}

/// Accumulates capacity across requests; share one between a store and its reader.
#[derive(Debug, Default)]
pub struct CapacityMeter {
    reported_read: AtomicU64,
    reported_total: AtomicU64,
    estimated_read: AtomicU64,
    estimated_write: AtomicU64,
    requests: AtomicU64,
}

/// Units are kept in thousandths, so they add up exactly in integers.
fn milli(units: f64) -> u64 {
    (units * 1000.0).round() as u64
}

fn units(milli: &AtomicU64) -> f64 {
    milli.load(Ordering::Relaxed) as f64 / 1000.0
}

impl CapacityMeter {
    /// Everything recorded so far.
    #[must_use]
    pub fn snapshot(&self) -> Capacity {
        Capacity {
            reported_read: units(&self.reported_read),
            reported_total: units(&self.reported_total),
            estimated_read: units(&self.estimated_read),
            estimated_write: units(&self.estimated_write),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }

    /// Records one request and the capacity DynamoDB reported for it.
    pub(crate) fn reported<'a>(&self, consumed: impl IntoIterator<Item = &'a ConsumedCapacity>) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        for c in consumed {
            self.reported_total
                .fetch_add(milli(c.capacity_units.unwrap_or(0.0)), Ordering::Relaxed);
            self.reported_read
                .fetch_add(milli(c.read_capacity_units.unwrap_or(0.0)), Ordering::Relaxed);
        }
    }

    pub(crate) fn consistent_read<'a>(&self, items: impl IntoIterator<Item = &'a Item>, consistent: bool) {
        let bytes: usize = items.into_iter().map(item_size).sum();
        let units = bytes.div_ceil(4096).max(1) as f64;
        let units = if consistent { units } else { units / 2.0 };
        self.estimated_read.fetch_add(milli(units), Ordering::Relaxed);
    }

    pub(crate) fn transactional_read<'a>(&self, items: impl IntoIterator<Item = &'a Item>) {
        let units: usize = items
            .into_iter()
            .map(|i| 2 * item_size(i).div_ceil(4096).max(1))
            .sum();
        self.estimated_read
            .fetch_add(milli(units.max(2) as f64), Ordering::Relaxed);
    }

    pub(crate) fn transactional_write(&self, item_sizes: impl IntoIterator<Item = usize>) {
        let units: usize = item_sizes
            .into_iter()
            .map(|size| 2 * size.div_ceil(1024).max(1))
            .sum();
        self.estimated_write
            .fetch_add(milli(units as f64), Ordering::Relaxed);
    }
}

/// An item's size as DynamoDB counts it: attribute names plus values.
pub(crate) fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        // Numbers: about one byte per two significant digits, plus one.
        AttributeValue::N(n) => {
            n.trim_start_matches(['-', '0'])
                .replace('.', "")
                .len()
                .div_ceil(2)
                + 1
        }
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| k.len() + value_size(v) + 1)
                .sum::<usize>()
        }
        AttributeValue::L(list) => 3 + list.iter().map(|v| value_size(v) + 1).sum::<usize>(),
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_sizes_count_names_and_values() {
        let mut item = Item::new();
        item.insert("PK".into(), AttributeValue::S("ORG#a".into()));
        item.insert("version".into(), AttributeValue::N("12".into()));
        assert_eq!(item_size(&item), 2 + 5 + 7 + 2);
    }

    #[test]
    fn transactional_writes_cost_two_units_per_kilobyte_per_item() {
        let meter = CapacityMeter::default();
        meter.transactional_write([100, 1500, 300]);
        assert!((meter.snapshot().estimated_write - 8.0).abs() < f64::EPSILON);
    }
}
