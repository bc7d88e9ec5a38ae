/*
 * Promela model of the pgvigil watchdog election and lease (sidecar/watchdog/
 * election.h), three members, checked by spin in the test suite.
 *
 * Abstractions:
 *  - Members share variables; one protocol exchange (request+reply, or
 *    round+ack) is one atomic step. A lost or delayed message is a step that is
 *    not taken, or taken later. Stale deliveries only lengthen promises, so they
 *    are left out.
 *  - Time advances in global ticks. A follower's promise lasts P ticks from
 *    receipt of a round; the leader's lease lasts L ticks from sending it; the
 *    round and its ack are one step, which is the worst case (receipt == send).
 *    Clock-rate error and scheduling are the implementation's margin (L < P * (1
 *    - rho) / (1 + rho) - M); here L < P stands for it. Set -DL=4 to see spin
 *    find two VIP holders.
 *  - Pre-votes are a liveness refinement and are not modelled (safety holds
 *    without them).
 *
 * Properties:
 *  - assertion: at most one leader per term;
 *  - monitor: never two VIP (lease) holders at once;
 *  - with -DLIVENESS (no crashes, no loss, one member possibly cut off): ltl
 *    eventually_leader, some member holds the VIP eventually (weak fairness).
 */
#define N 3
#define MAJ 2
#ifndef P
#define P 3
#endif
#ifndef L
#define L 2
#endif
#define MAXTERM 3
#define MAXCRASH 1
#define NONE 255

#define FOLLOWER 0
#define CANDIDATE 1
#define LEADER 2

byte term[N];
byte voted[N];
byte role[N];
byte promise[N];   /* ticks during which this member votes for nobody but follows[] */
byte follows[N];
byte lease[N];
bool vip[N];
byte grants[N];    /* bitmask of granted votes, candidates only */
bool cut[N];       /* cut off from everyone, both ways */
byte leaderOf[MAXTERM + 1];
byte crashes;
bool started;

#define Connected(a, b) (!cut[a] && !cut[b])
#ifdef LIVENESS
/* Randomised timeouts, abstracted: connected members do not campaign at once. */
#define Campaigning(x) (role[x] == CANDIDATE && !cut[x])
#define Alone(me) (cut[me] || !(Campaigning((me + 1) % N) || Campaigning((me + 2) % N)))
#else
#define Alone(me) true
#endif
#define Count(m) (((m) & 1) + (((m) >> 1) & 1) + (((m) >> 2) & 1))

/* v sees term t: a newer term makes it a follower (a leader drops the VIP first). */
inline adopt(v, t) {
  if
  :: term[v] < t ->
     vip[v] = 0; lease[v] = 0;
     term[v] = t; voted[v] = NONE; role[v] = FOLLOWER; grants[v] = 0
  :: else -> skip
  fi
}

/* Candidate c asks v for its vote. */
inline request_vote(c, v) {
  if
  :: term[v] > term[c] -> adopt(c, term[v])
  :: term[v] <= term[c] && (role[v] == LEADER || (promise[v] > 0 && follows[v] != c)) -> skip
  :: term[v] <= term[c] && !(role[v] == LEADER || (promise[v] > 0 && follows[v] != c)) ->
     adopt(v, term[c]);
     if
     :: voted[v] == NONE || voted[v] == c -> voted[v] = c; grants[c] = grants[c] | (1 << v)
     :: else -> skip
     fi
  fi
}

/* Leader l sends a round to f; f's ack comes back in the same step. */
inline round(l, f) {
  if
  :: term[f] > term[l] -> adopt(l, term[f])
  :: else ->
     adopt(f, term[l]);
     role[f] = FOLLOWER; grants[f] = 0;
     follows[f] = l; promise[f] = P;
     lease[l] = L;
     vip[l] = 1   /* ReconcileVip after the ack: leader with a lease holds the VIP */
  fi
}

active [N] proctype member() {
  byte me = _pid;
  byte j;
  started;
  do
  /* Promise over and no leader role: start an election. */
  :: atomic {
       role[me] != LEADER && promise[me] == 0 && term[me] < MAXTERM && Alone(me) ->
       term[me]++; voted[me] = me; role[me] = CANDIDATE; follows[me] = NONE;
       grants[me] = 1 << me
     }
  /* Ask for votes: every reachable member, each request possibly lost. */
  :: atomic {
       role[me] == CANDIDATE ->
       j = 0;
       do
       :: j < N ->
          if
          :: j != me && Connected(me, j) && role[me] == CANDIDATE -> request_vote(me, j)
#ifndef LIVENESS
          :: true -> skip   /* lost */
#endif
          :: else -> skip
          fi;
          j++
       :: else -> break
       od;
       /* A majority of grants: leader at once (BecomeLeader in HandleVoteReply). */
       if
       :: role[me] == CANDIDATE && Count(grants[me]) >= MAJ ->
          assert(leaderOf[term[me]] == NONE || leaderOf[term[me]] == me);
          leaderOf[term[me]] = me;
          role[me] = LEADER; lease[me] = 0; follows[me] = me
       :: else -> skip
       fi
     }
  /* A lease round to every reachable member, each possibly lost. */
  :: atomic {
       role[me] == LEADER ->
       j = 0;
       do
       :: j < N ->
          if
          :: j != me && Connected(me, j) && role[me] == LEADER -> round(me, j)
#ifndef LIVENESS
          :: true -> skip
#endif
          :: else -> skip
          fi;
          j++
       :: else -> break
       od
     }
#ifndef LIVENESS
  /* Crash and restart: term and vote persist; the host loses its addresses; the
     restarted member honours a promise it may have made, for P. */
  :: atomic {
       crashes < MAXCRASH ->
       crashes++;
       vip[me] = 0; lease[me] = 0; role[me] = FOLLOWER; grants[me] = 0;
       follows[me] = NONE; promise[me] = P
     }
  /* Clean stop of a leader: VIP down, then everyone may elect at once. */
  :: atomic {
       role[me] == LEADER && crashes < MAXCRASH ->
       crashes++;
       vip[me] = 0; lease[me] = 0; role[me] = FOLLOWER; promise[me] = P;
       j = 0;
       do
       :: j < N -> if :: follows[j] == me && j != me -> promise[j] = 0 :: else -> skip fi; j++
       :: else -> break
       od
     }
  /* Partitions come and go. */
  :: cut[me] = !cut[me]
#endif
  od
}

/* Time: every counter runs down together; a leader whose lease ran out drops
   the VIP and steps down in the same tick. */
active proctype clock() {
  byte i;
  started;
  do
  :: atomic {
       i = 0;
       do
       :: i < N ->
          if :: promise[i] > 0 -> promise[i]-- :: else -> skip fi;
          if :: lease[i] > 0 -> lease[i]-- :: else -> skip fi;
          if
          :: role[i] == LEADER && vip[i] && lease[i] == 0 -> vip[i] = 0; role[i] = FOLLOWER
          :: else -> skip
          fi;
          i++
       :: else -> break
       od
     }
  od
}

init {
  atomic {
    byte i = 0;
    do
    :: i < N -> voted[i] = NONE; follows[i] = NONE; promise[i] = P; i++
    :: else -> break
    od;
    i = 0;
    do
    :: i <= MAXTERM -> leaderOf[i] = NONE; i++
    :: else -> break
    od;
#ifdef LIVENESS
    if
    :: skip
    :: cut[0] = 1
    :: cut[1] = 1
    :: cut[2] = 1
    fi;
#endif
    started = 1
  }
}

/* Never two VIP holders at once. */
active proctype vip_monitor() {
  atomic { (vip[0] + vip[1] + vip[2] > 1) -> assert(false) }
}

#ifdef LIVENESS
ltl eventually_leader { <> (vip[0] || vip[1] || vip[2]) }
#endif
