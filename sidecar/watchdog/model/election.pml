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
 *  - Clean stop with handover (Election::Resign): a leader drops the VIP and
 *    its lease, then a Resign naming a successor (any other member, or none;
 *    the implementation's choice, the member that acknowledged the newest
 *    round, is one of these) is in flight to each other member, each copy
 *    delivered at any later point or lost. The resigner starts again at once
 *    (a rolling update) and honours its promises for P: being down a while is
 *    the same as all its messages being lost. One clean stop or crash per run.
 *    A follower that follows the resigner in the Resign's term takes the
 *    handover: the successor stands at once (no promise wait, no pre-vote);
 *    the others vote for it despite their promise until a round replaces the
 *    handover. Over-approximations: the implementation also requires that the
 *    resigner's previous message was a round of that term (was_leader); the
 *    Resign's second copy is a no-op there and is left out. Rounds of the
 *    resigned term arriving after the Resign are dropped by the implementation;
 *    here no round is sent after the resign step. A copy whose addressee moved
 *    to a newer term or another leader can never be taken and is dropped at
 *    the next tick (fewer states).
 *    -DBREAK=1 sends the Resign before the VIP goes down (the VIP and lease go
 *    down in a later step); -DBREAK=2 lets a follower take the handover from a
 *    Resign of any term or leader. Spin must find two VIP holders with either.
 *
 * Properties:
 *  - assertion: at most one leader per term;
 *  - monitor: never two VIP holders, never two members with a live lease;
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
#ifndef BREAK
#define BREAK 0
#endif

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
bool down[N];      /* -DBREAK=1 only: resigned, VIP still up */
byte rsFrom = NONE; /* the Resign (one clean stop at most): from, term, */
byte rsTerm;
byte rsTo = NONE;   /* successor or NONE, */
byte rsPend;        /* and the members it has not reached yet (bitmask) */
byte hoTo[N];      /* handover: our leader (follows[]) resigned naming hoTo */
bool started;

#define Connected(a, b) (!cut[a] && !cut[b])
#define Reach(a, b) (Connected(a, b) && !down[b])
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

/* v refuses c while it leads or its promise to another leader runs, unless
   that leader resigned naming c (LiveLeaderOtherThan). */
#define HandedTo(v, c) (follows[v] != NONE && hoTo[v] == c)
#define Refuses(v, c) (role[v] == LEADER || (promise[v] > 0 && follows[v] != c && !HandedTo(v, c)))

/* Candidate c asks v for its vote. */
inline request_vote(c, v) {
  if
  :: term[v] > term[c] -> adopt(c, term[v])
  :: term[v] <= term[c] && Refuses(v, c) -> skip
  :: term[v] <= term[c] && !Refuses(v, c) ->
     adopt(v, term[c]);
     if
     :: voted[v] == NONE || voted[v] == c -> voted[v] = c; grants[c] = grants[c] | (1 << v)
     :: else -> skip
     fi
  fi
}

/* Delivered or lost everywhere: forget the Resign (fewer states). */
inline forget_resign() {
  if
  :: rsPend == 0 -> rsFrom = NONE; rsTerm = 0; rsTo = NONE
  :: else -> skip
  fi
}

/* The Resign reaches v (HandleResign). */
inline resign_arrives(v) {
  rsPend = rsPend & ~(1 << v);
  if
#if BREAK == 2
  :: role[v] != LEADER ->
#else
  :: rsTerm == term[v] && follows[v] == rsFrom && role[v] != LEADER ->
#endif
     if
     :: rsTo == NONE || rsTo == rsFrom || promise[v] == 0 ->   /* elect at once */
        follows[v] = NONE; promise[v] = 0
     :: else ->
        follows[v] = rsFrom; hoTo[v] = rsTo;
        if
        :: rsTo == v && term[v] < MAXTERM ->   /* stand at once, still following rsFrom */
           term[v]++; voted[v] = v; role[v] = CANDIDATE; grants[v] = 1 << v
        :: else -> skip
        fi
     fi
  :: else -> skip
  fi;
  forget_resign()
}

/* Leader l sends a round to f; f's ack comes back in the same step. */
inline round(l, f) {
  if
  :: term[f] > term[l] -> adopt(l, term[f])
  :: else ->
     adopt(f, term[l]);
     role[f] = FOLLOWER; grants[f] = 0;
     follows[f] = l; promise[f] = P; hoTo[f] = NONE;
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
       !down[me] && role[me] != LEADER && promise[me] == 0 && term[me] < MAXTERM && Alone(me) ->
       term[me]++; voted[me] = me; role[me] = CANDIDATE; follows[me] = NONE;
       grants[me] = 1 << me
     }
  /* Ask for votes: every reachable member, each request possibly lost. */
  :: atomic {
       !down[me] && role[me] == CANDIDATE ->
       j = 0;
       do
       :: j < N ->
          if
          :: j != me && Reach(me, j) && role[me] == CANDIDATE -> request_vote(me, j)
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
          role[me] = LEADER; lease[me] = 0; follows[me] = me; hoTo[me] = NONE
       :: else -> skip
       fi
     }
  /* A lease round to every reachable member, each possibly lost. */
  :: atomic {
       !down[me] && role[me] == LEADER ->
       j = 0;
       do
       :: j < N ->
          if
          :: j != me && Reach(me, j) && role[me] == LEADER -> round(me, j)
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
       !down[me] && crashes < MAXCRASH ->
       crashes++;
       vip[me] = 0; lease[me] = 0; role[me] = FOLLOWER; grants[me] = 0;
       follows[me] = NONE; promise[me] = P; hoTo[me] = NONE
     }
  /* Clean stop of a leader (Election::Resign): VIP and lease down, then the
     Resign naming a successor (or none) goes out to the others. The member
     starts again at once (a rolling update), honouring its promises: being down
     for a while is the same as all its messages being lost. */
  :: atomic {
       !down[me] && role[me] == LEADER && crashes < MAXCRASH ->
       crashes++;
#if BREAK == 1
       down[me] = 1;
#else
       vip[me] = 0; lease[me] = 0; role[me] = FOLLOWER; grants[me] = 0;
       follows[me] = NONE; promise[me] = P; hoTo[me] = NONE;
#endif
       rsFrom = me; rsTerm = term[me];
       if
       :: rsTo = NONE
       :: rsTo = (me + 1) % N
       :: rsTo = (me + 2) % N
       fi;
       rsPend = 7 & ~(1 << me)
     }
#if BREAK == 1
  /* The bug: the VIP goes down (and the member restarts) after the Resign went out. */
  :: atomic {
       down[me] ->
       down[me] = 0; vip[me] = 0; lease[me] = 0; role[me] = FOLLOWER; grants[me] = 0;
       follows[me] = NONE; promise[me] = P; hoTo[me] = NONE
     }
#endif
  /* The Resign in flight arrives (or never does: lost). */
  :: atomic { !down[me] && !cut[me] && (rsPend & (1 << me)) -> resign_arrives(me) }
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
#if BREAK != 2
          /* A Resign copy that can no longer be taken (its addressee moved to a
             newer term or another leader, for good) is as good as lost. */
          if
          :: (rsPend & (1 << i)) && (term[i] > rsTerm || follows[i] != rsFrom) ->
             rsPend = rsPend & ~(1 << i)
          :: else -> skip
          fi;
#endif
          if
          :: role[i] == LEADER && vip[i] && lease[i] == 0 -> vip[i] = 0; role[i] = FOLLOWER
          :: else -> skip
          fi;
          i++
       :: else -> break
       od;
       forget_resign()
     }
  od
}

init {
  atomic {
    byte i = 0;
    do
    :: i < N -> voted[i] = NONE; follows[i] = NONE; promise[i] = P;
                hoTo[i] = NONE; i++
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

/* Never two VIP holders at once, never two members with a live lease. */
active proctype vip_monitor() {
  atomic {
    (vip[0] + vip[1] + vip[2] > 1 || (lease[0] > 0) + (lease[1] > 0) + (lease[2] > 0) > 1) ->
    assert(false)
  }
}

#ifdef LIVENESS
ltl eventually_leader { <> (vip[0] || vip[1] || vip[2]) }
#endif
