//! Hashes, lists (blocking pops included), sets and sorted sets.

use std::time::{Duration, Instant};

use super::{connect, r, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "HSET h a 1 b 2").await, "2");
    assert_eq!(r(&mut c, "HSET h a 10 c 3").await, "1");
    assert_eq!(r(&mut c, "HSET h a").await, "ERR: wrong number of arguments for 'hset' command");
    assert_eq!(r(&mut c, "HMSET h d 4").await, "OK");
    assert_eq!(r(&mut c, "HSETNX h a 99").await, "0");
    assert_eq!(r(&mut c, "HSETNX h e 5").await, "1");
    assert_eq!(r(&mut c, "HGET h a").await, "\"10\"");
    assert_eq!(r(&mut c, "HGET h zz").await, "nil");
    assert_eq!(r(&mut c, "HMGET h a zz b").await, "[\"10\", nil, \"2\"]");
    assert_eq!(r(&mut c, "HGETALL h").await, "[\"a\", \"10\", \"b\", \"2\", \"c\", \"3\", \"d\", \"4\", \"e\", \"5\"]");
    assert_eq!(r(&mut c, "HLEN h").await, "5");
    assert_eq!(r(&mut c, "HKEYS h").await, "[\"a\", \"b\", \"c\", \"d\", \"e\"]");
    assert_eq!(r(&mut c, "HVALS h").await, "[\"10\", \"2\", \"3\", \"4\", \"5\"]");
    assert_eq!(r(&mut c, "HEXISTS h a").await, "1");
    assert_eq!(r(&mut c, "HEXISTS h zz").await, "0");
    assert_eq!(r(&mut c, "HSTRLEN h a").await, "2");
    assert_eq!(r(&mut c, "HINCRBY h a 5").await, "15");
    assert_eq!(r(&mut c, "HINCRBY h new -3").await, "-3");
    assert_eq!(r(&mut c, "HSET h txt abc").await, "1");
    assert_eq!(r(&mut c, "HINCRBY h txt 1").await, "ERR: hash value is not an integer");
    assert_eq!(r(&mut c, "HINCRBYFLOAT h f 1.5").await, "\"1.5\"");
    assert_eq!(r(&mut c, "HINCRBYFLOAT h txt 1").await, "ERR: hash value is not a float");
    assert_eq!(r(&mut c, "HDEL h a b zz").await, "2");
    let field = r(&mut c, "HRANDFIELD h").await;
    assert!(field.starts_with('"'), "{field}");
    let three = r(&mut c, "HRANDFIELD h 3").await;
    assert_eq!(three.matches(',').count(), 2, "{three}");
    let repeats = r(&mut c, "HRANDFIELD h -10").await;
    assert_eq!(repeats.matches(',').count(), 9, "{repeats}");
    let with = r(&mut c, "HRANDFIELD h 1 WITHVALUES").await;
    assert_eq!(with.matches(',').count(), 1, "{with}");
    assert_eq!(r(&mut c, "HRANDFIELD nope").await, "nil");
    let (cursor, items): (String, Vec<String>) = redis::cmd("HSCAN")
        .arg("h")
        .arg(0)
        .arg("MATCH")
        .arg("[cd]")
        .arg("COUNT")
        .arg(100)
        .query_async(&mut c)
        .await
        .expect("hscan");
    assert_eq!((cursor.as_str(), items), ("0", vec!["c".into(), "3".into(), "d".into(), "4".into()]));
    let (_, keys): (String, Vec<String>) =
        redis::cmd("HSCAN").arg("h").arg(0).arg("NOVALUES").query_async(&mut c).await.expect("hscan");
    assert!(keys.contains(&"e".to_string()) && !keys.contains(&"5".to_string()));
    // Deleting every field deletes the key.
    assert_eq!(r(&mut c, "HDEL h c d e new f txt").await, "6");
    assert_eq!(r(&mut c, "EXISTS h").await, "0");
    assert_eq!(r(&mut c, "SET s v").await, "OK");
    assert_eq!(r(&mut c, "HGET s f").await, "WRONGTYPE: Operation against a key holding the wrong kind of value");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_and_blocking_pops() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "RPUSH l a b c").await, "3");
    assert_eq!(r(&mut c, "LPUSH l z y").await, "5");
    assert_eq!(r(&mut c, "LRANGE l 0 -1").await, "[\"y\", \"z\", \"a\", \"b\", \"c\"]");
    assert_eq!(r(&mut c, "LRANGE l -2 100").await, "[\"b\", \"c\"]");
    assert_eq!(r(&mut c, "LRANGE l 3 1").await, "[]");
    assert_eq!(r(&mut c, "LPUSHX nope a").await, "0");
    assert_eq!(r(&mut c, "RPUSHX l d").await, "6");
    assert_eq!(r(&mut c, "LLEN l").await, "6");
    assert_eq!(r(&mut c, "LINDEX l 0").await, "\"y\"");
    assert_eq!(r(&mut c, "LINDEX l -1").await, "\"d\"");
    assert_eq!(r(&mut c, "LINDEX l 99").await, "nil");
    assert_eq!(r(&mut c, "LSET l 1 Z").await, "OK");
    assert_eq!(r(&mut c, "LSET l 99 x").await, "ERR: index out of range");
    assert_eq!(r(&mut c, "LSET nope 0 x").await, "ERR: no such key");
    assert_eq!(r(&mut c, "LPOP l").await, "\"y\"");
    assert_eq!(r(&mut c, "RPOP l 2").await, "[\"d\", \"c\"]");
    assert_eq!(r(&mut c, "LPOP nope").await, "nil");
    assert_eq!(r(&mut c, "LPOP nope 2").await, "nil");
    assert_eq!(r(&mut c, "RPUSH m a b a c a").await, "5");
    assert_eq!(r(&mut c, "LREM m 2 a").await, "2");
    assert_eq!(r(&mut c, "LRANGE m 0 -1").await, "[\"b\", \"c\", \"a\"]");
    assert_eq!(r(&mut c, "RPUSH m a").await, "4");
    assert_eq!(r(&mut c, "LREM m -1 a").await, "1");
    assert_eq!(r(&mut c, "LRANGE m 0 -1").await, "[\"b\", \"c\", \"a\"]");
    assert_eq!(r(&mut c, "LINSERT m BEFORE c x").await, "4");
    assert_eq!(r(&mut c, "LINSERT m AFTER a y").await, "5");
    assert_eq!(r(&mut c, "LINSERT m AFTER nothere y").await, "-1");
    assert_eq!(r(&mut c, "LRANGE m 0 -1").await, "[\"b\", \"x\", \"c\", \"a\", \"y\"]");
    assert_eq!(r(&mut c, "LTRIM m 1 -2").await, "OK");
    assert_eq!(r(&mut c, "LRANGE m 0 -1").await, "[\"x\", \"c\", \"a\"]");
    assert_eq!(r(&mut c, "RPUSH p a b c a b c").await, "6");
    assert_eq!(r(&mut c, "LPOS p c").await, "2");
    assert_eq!(r(&mut c, "LPOS p c RANK 2").await, "5");
    assert_eq!(r(&mut c, "LPOS p c RANK -1").await, "5");
    assert_eq!(r(&mut c, "LPOS p a COUNT 0").await, "[0, 3]");
    assert_eq!(r(&mut c, "LPOS p c MAXLEN 2").await, "nil");
    assert_eq!(
        r(&mut c, "LPOS p c RANK 0").await,
        "ERR: RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list"
    );
    assert_eq!(r(&mut c, "LMOVE p q RIGHT LEFT").await, "\"c\"");
    assert_eq!(r(&mut c, "RPOPLPUSH p q").await, "\"b\"");
    assert_eq!(r(&mut c, "LRANGE q 0 -1").await, "[\"b\", \"c\"]");
    assert_eq!(r(&mut c, "LMOVE p q UP LEFT").await, "ERR: syntax error");
    assert_eq!(r(&mut c, "LTRIM q 5 10").await, "OK");
    assert_eq!(r(&mut c, "EXISTS q").await, "0", "trimming everything deletes the list");

    // BLPOP with data returns at once; without, it times out with nil.
    assert_eq!(r(&mut c, "BLPOP p 1").await, "[\"p\", \"a\"]");
    let start = Instant::now();
    assert_eq!(r(&mut c, "BLPOP empty 0.2").await, "nil");
    assert!(start.elapsed() >= Duration::from_millis(180));
    assert_eq!(r(&mut c, "BLPOP empty -1").await, "ERR: timeout is negative");
    assert_eq!(r(&mut c, "BLPOP empty abc").await, "ERR: timeout is not a float or out of range");

    // A blocked client is woken by another connection's push.
    let mut waiter = connect(&server, false).await;
    let blocked = tokio::spawn(async move { r(&mut waiter, "BRPOP k1 k2 10").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r(&mut c, "RPUSH k2 woke").await, "1");
    assert_eq!(blocked.await.expect("task"), "[\"k2\", \"woke\"]");
    assert_eq!(r(&mut c, "EXISTS k2").await, "0", "the pushed element was consumed");

    let mut waiter = connect(&server, false).await;
    let blocked = tokio::spawn(async move { r(&mut waiter, "BLMOVE src dst LEFT RIGHT 10").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r(&mut c, "LPUSH src moved").await, "1");
    assert_eq!(blocked.await.expect("task"), "\"moved\"");
    assert_eq!(r(&mut c, "LRANGE dst 0 -1").await, "[\"moved\"]");
    assert_eq!(r(&mut c, "BRPOPLPUSH dst src 1").await, "\"moved\"");

    // Two waiters on one key are served in arrival order.
    let mut w1 = connect(&server, false).await;
    let mut w2 = connect(&server, false).await;
    let first = tokio::spawn(async move { r(&mut w1, "BLPOP fifo 10").await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let second = tokio::spawn(async move { r(&mut w2, "BLPOP fifo 10").await });
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(r(&mut c, "RPUSH fifo one two").await, "2");
    assert_eq!(first.await.expect("task"), "[\"fifo\", \"one\"]");
    assert_eq!(second.await.expect("task"), "[\"fifo\", \"two\"]");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "SADD s a b c").await, "3");
    assert_eq!(r(&mut c, "SADD s a d").await, "1");
    assert_eq!(r(&mut c, "SMEMBERS s").await, "[\"a\", \"b\", \"c\", \"d\"]");
    assert_eq!(r(&mut c, "SISMEMBER s a").await, "1");
    assert_eq!(r(&mut c, "SISMEMBER s z").await, "0");
    assert_eq!(r(&mut c, "SMISMEMBER s a z d").await, "[1, 0, 1]");
    assert_eq!(r(&mut c, "SCARD s").await, "4");
    assert_eq!(r(&mut c, "SREM s d z").await, "1");
    assert_eq!(r(&mut c, "SADD t b c e").await, "3");
    assert_eq!(r(&mut c, "SINTER s t").await, "[\"b\", \"c\"]");
    assert_eq!(r(&mut c, "SUNION s t").await, "[\"a\", \"b\", \"c\", \"e\"]");
    assert_eq!(r(&mut c, "SDIFF s t").await, "[\"a\"]");
    assert_eq!(r(&mut c, "SINTERSTORE i s t").await, "2");
    assert_eq!(r(&mut c, "SUNIONSTORE u s t").await, "4");
    assert_eq!(r(&mut c, "SDIFFSTORE d s t").await, "1");
    assert_eq!(r(&mut c, "SMEMBERS d").await, "[\"a\"]");
    assert_eq!(r(&mut c, "SDIFFSTORE d s s").await, "0");
    assert_eq!(r(&mut c, "EXISTS d").await, "0", "an empty result deletes the destination");
    assert_eq!(r(&mut c, "SINTERCARD 2 s t").await, "2");
    assert_eq!(r(&mut c, "SINTERCARD 2 s t LIMIT 1").await, "1");
    assert_eq!(r(&mut c, "SINTERCARD 0 s").await, "ERR: numkeys should be greater than 0");
    assert_eq!(r(&mut c, "SMOVE s t a").await, "1");
    assert_eq!(r(&mut c, "SMOVE s t zz").await, "0");
    assert_eq!(r(&mut c, "SISMEMBER t a").await, "1");
    let member = r(&mut c, "SRANDMEMBER t").await;
    assert!(member.starts_with('"'));
    assert_eq!(r(&mut c, "SRANDMEMBER t -6").await.matches(',').count(), 5);
    assert_eq!(r(&mut c, "SRANDMEMBER t 2").await.matches(',').count(), 1);
    let popped = r(&mut c, "SPOP t").await;
    assert!(popped.starts_with('"'));
    assert_eq!(r(&mut c, "SCARD t").await, "3");
    assert_eq!(r(&mut c, "SPOP t 10").await.matches(',').count(), 2);
    assert_eq!(r(&mut c, "EXISTS t").await, "0");
    assert_eq!(r(&mut c, "SPOP t").await, "nil");
    for i in 0..30 {
        assert_eq!(r(&mut c, &format!("SADD big m{i:02}")).await, "1");
    }
    let mut seen = 0;
    let mut cursor = "0".to_string();
    loop {
        let (next, items): (String, Vec<String>) =
            redis::cmd("SSCAN").arg("big").arg(&cursor).arg("COUNT").arg(7).query_async(&mut c).await.expect("sscan");
        seen += items.len();
        cursor = next;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen, 30);
    assert_eq!(r(&mut c, "OBJECT ENCODING big").await, "\"listpack\"");
    assert_eq!(r(&mut c, "SADD ints 1 2 3").await, "3");
    assert_eq!(r(&mut c, "OBJECT ENCODING ints").await, "\"intset\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sorted_sets() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &[]);
    let mut c = connect(&server, false).await;
    assert_eq!(r(&mut c, "ZADD z 1 a 2 b 3 c").await, "3");
    assert_eq!(r(&mut c, "ZADD z NX 10 a 4 d").await, "1");
    assert_eq!(r(&mut c, "ZADD z XX 5 d 6 e").await, "0");
    assert_eq!(r(&mut c, "ZADD z XX CH 5 d").await, "0", "unchanged score is no change");
    assert_eq!(r(&mut c, "ZADD z CH 4 d 7 e").await, "2");
    assert_eq!(r(&mut c, "ZADD z GT 1 a").await, "0");
    assert_eq!(r(&mut c, "ZADD z GT CH 1.5 a").await, "1");
    assert_eq!(r(&mut c, "ZADD z LT CH 9 a").await, "0");
    assert_eq!(r(&mut c, "ZADD z INCR 1 a").await, "\"2.5\"");
    assert_eq!(r(&mut c, "ZADD z NX INCR 1 a").await, "nil");
    assert_eq!(r(&mut c, "ZADD z NX XX 1 a").await, "ERR: XX and NX options at the same time are not compatible");
    assert_eq!(
        r(&mut c, "ZADD z GT LT 1 a").await,
        "ERR: GT, LT, and/or NX options at the same time are not compatible"
    );
    assert_eq!(r(&mut c, "ZADD z INCR 1 a 2 b").await, "ERR: INCR option supports a single increment-element pair");
    assert_eq!(r(&mut c, "ZADD z abc a").await, "ERR: value is not a valid float");
    assert_eq!(r(&mut c, "ZADD z 1 a 2").await, "ERR: syntax error");
    assert_eq!(r(&mut c, "ZADD z 1").await, "ERR: wrong number of arguments for 'zadd' command");
    assert_eq!(r(&mut c, "ZSCORE z a").await, "\"2.5\"");
    assert_eq!(r(&mut c, "ZSCORE z nope").await, "nil");
    assert_eq!(r(&mut c, "ZMSCORE z a nope c").await, "[\"2.5\", nil, \"3\"]");
    assert_eq!(r(&mut c, "ZINCRBY z 2 c").await, "\"5\"");
    assert_eq!(r(&mut c, "ZCARD z").await, "5");
    // z: b=2 a=2.5 d=4 c=5 e=7
    assert_eq!(r(&mut c, "ZRANGE z 0 -1").await, "[\"b\", \"a\", \"d\", \"c\", \"e\"]");
    assert_eq!(r(&mut c, "ZRANGE z 0 1 WITHSCORES").await, "[\"b\", \"2\", \"a\", \"2.5\"]");
    assert_eq!(r(&mut c, "ZRANGE z 0 1 REV").await, "[\"e\", \"c\"]");
    assert_eq!(r(&mut c, "ZRANGE z (2 4 BYSCORE").await, "[\"a\", \"d\"]");
    assert_eq!(r(&mut c, "ZRANGE z +inf -inf BYSCORE REV LIMIT 1 2").await, "[\"c\", \"d\"]");
    assert_eq!(
        r(&mut c, "ZRANGE z 0 -1 LIMIT 0 1").await,
        "ERR: syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    );
    assert_eq!(r(&mut c, "ZRANGEBYSCORE z -inf 4 WITHSCORES LIMIT 1 5").await, "[\"a\", \"2.5\", \"d\", \"4\"]");
    assert_eq!(r(&mut c, "ZREVRANGEBYSCORE z 7 (4").await, "[\"e\", \"c\"]");
    assert_eq!(r(&mut c, "ZREVRANGE z 0 0 WITHSCORES").await, "[\"e\", \"7\"]");
    assert_eq!(r(&mut c, "ZRANGEBYSCORE z x 4").await, "ERR: min or max is not a float");
    assert_eq!(r(&mut c, "ZCOUNT z 2 (5").await, "3");
    assert_eq!(r(&mut c, "ZRANK z d").await, "2");
    assert_eq!(r(&mut c, "ZREVRANK z d").await, "2");
    assert_eq!(r(&mut c, "ZRANK z d WITHSCORE").await, "[2, \"4\"]");
    assert_eq!(r(&mut c, "ZRANK z nope").await, "nil");
    assert_eq!(r(&mut c, "ZADD lex 0 a 0 b 0 c 0 d 0 e").await, "5");
    assert_eq!(r(&mut c, "ZRANGEBYLEX lex [b (d").await, "[\"b\", \"c\"]");
    assert_eq!(r(&mut c, "ZRANGEBYLEX lex - + LIMIT 1 2").await, "[\"b\", \"c\"]");
    assert_eq!(r(&mut c, "ZREVRANGEBYLEX lex + [c").await, "[\"e\", \"d\", \"c\"]");
    assert_eq!(r(&mut c, "ZRANGE lex [c + BYLEX").await, "[\"c\", \"d\", \"e\"]");
    assert_eq!(r(&mut c, "ZLEXCOUNT lex [b [d").await, "3");
    assert_eq!(r(&mut c, "ZRANGEBYLEX lex b d").await, "ERR: min or max not valid string range item");
    assert_eq!(r(&mut c, "ZREMRANGEBYLEX lex [a [b").await, "2");
    assert_eq!(r(&mut c, "ZRANGESTORE dst z 0 1").await, "2");
    assert_eq!(r(&mut c, "ZRANGE dst 0 -1").await, "[\"b\", \"a\"]");
    assert_eq!(r(&mut c, "ZPOPMIN z").await, "[\"b\", \"2\"]");
    assert_eq!(r(&mut c, "ZPOPMAX z 2").await, "[\"e\", \"7\", \"c\", \"5\"]");
    assert_eq!(r(&mut c, "ZADD r 1 a 2 b 3 c 4 d 5 e").await, "5");
    assert_eq!(r(&mut c, "ZREMRANGEBYSCORE r (1 2").await, "1");
    assert_eq!(r(&mut c, "ZREMRANGEBYRANK r 0 0").await, "1");
    assert_eq!(r(&mut c, "ZRANGE r 0 -1").await, "[\"c\", \"d\", \"e\"]");
    assert_eq!(r(&mut c, "ZADD u1 1 a 2 b").await, "2");
    assert_eq!(r(&mut c, "ZADD u2 10 b 20 c").await, "2");
    assert_eq!(r(&mut c, "SADD plain a").await, "1");
    assert_eq!(r(&mut c, "ZUNIONSTORE out 2 u1 u2").await, "3");
    assert_eq!(r(&mut c, "ZRANGE out 0 -1 WITHSCORES").await, "[\"a\", \"1\", \"b\", \"12\", \"c\", \"20\"]");
    assert_eq!(r(&mut c, "ZUNIONSTORE out 2 u1 u2 WEIGHTS 2 1 AGGREGATE MAX").await, "3");
    assert_eq!(r(&mut c, "ZSCORE out b").await, "\"10\"");
    assert_eq!(r(&mut c, "ZINTERSTORE out 2 u1 u2").await, "1");
    assert_eq!(r(&mut c, "ZRANGE out 0 -1 WITHSCORES").await, "[\"b\", \"12\"]");
    assert_eq!(r(&mut c, "ZINTERSTORE out 2 u1 plain AGGREGATE MIN").await, "1");
    assert_eq!(r(&mut c, "ZSCORE out a").await, "\"1\"");
    assert_eq!(r(&mut c, "ZUNION 2 u1 u2 WITHSCORES").await, "[\"a\", \"1\", \"b\", \"12\", \"c\", \"20\"]");
    assert_eq!(r(&mut c, "ZINTER 2 u1 u2").await, "[\"b\"]");
    assert_eq!(r(&mut c, "ZDIFF 2 u1 u2").await, "[\"a\"]");
    assert_eq!(r(&mut c, "ZDIFFSTORE out 2 u2 u1").await, "1");
    assert_eq!(
        r(&mut c, "ZUNIONSTORE out 0 u1").await,
        "ERR: at least 1 input key is needed for 'zunionstore' command"
    );
    let (cursor, items): (String, Vec<String>) =
        redis::cmd("ZSCAN").arg("u2").arg(0).query_async(&mut c).await.expect("zscan");
    assert_eq!((cursor.as_str(), items), ("0", vec!["b".into(), "10".into(), "c".into(), "20".into()]));
    assert_eq!(r(&mut c, "ZREM u2 b c x").await, "2");
    assert_eq!(r(&mut c, "EXISTS u2").await, "0");

    // Blocking pops on sorted sets.
    assert_eq!(r(&mut c, "BZPOPMIN u1 1").await, "[\"u1\", \"a\", \"1\"]");
    let mut waiter = connect(&server, false).await;
    let blocked = tokio::spawn(async move { r(&mut waiter, "BZPOPMAX zz 10").await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(r(&mut c, "ZADD zz 1 low 9 high").await, "2");
    assert_eq!(blocked.await.expect("task"), "[\"zz\", \"high\", \"9\"]");
    assert_eq!(r(&mut c, "BZPOPMIN none 0.1").await, "nil");
}
