// Cache-line round trip between the two vCPUs while running: two threads pinned to CPU 0 and CPU 1 bounce a cache
// line 20,000 times, 4 times a second; prints per second: wall second, the 10th percentile and median round trip in ns
// of that second's samples (each sample's own 10th percentile), and the samples. Bounded: argv[1] seconds.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sched.h>
#include <time.h>
#include <stdatomic.h>
#include <unistd.h>
#define N 20000
static _Alignas(64) atomic_long ball; static atomic_int go, quit;
static double ns(void){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec*1e9+t.tv_nsec;}
static double wall(void){struct timespec t;clock_gettime(CLOCK_REALTIME,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void pin(int c){cpu_set_t s;CPU_ZERO(&s);CPU_SET(c,&s);pthread_setaffinity_np(pthread_self(),sizeof s,&s);}
static void *echo(void*a){pin(1); while(!atomic_load(&quit)){ long v=atomic_load_explicit(&ball,memory_order_acquire); if(v&1) atomic_store_explicit(&ball,v+1,memory_order_release); else if(!atomic_load(&go)) usleep(1000);} return 0;}
static int cmp(const void*a,const void*b){double x=*(double*)a,y=*(double*)b;return x<y?-1:x>y;}
int main(int c,char**v){double end=wall()+atof(v[1]); pin(0); pthread_t t; pthread_create(&t,0,echo,0);
 static double rt[N]; double p10s[16],meds[16]; int k=0; long sec=(long)wall();
 while(wall()<end){ atomic_store(&go,1); usleep(2000); int n=0;
  for(int i=0;i<N;i++){ long v=atomic_load(&ball); double t0=ns(); atomic_store_explicit(&ball,v+1,memory_order_release);
    double lim=t0+2e6; while(atomic_load_explicit(&ball,memory_order_acquire)==v+1){ if(ns()>lim) break; } rt[n++]=ns()-t0; }
  atomic_store(&go,0); qsort(rt,n,sizeof(double),cmp); if(k<16){p10s[k]=rt[n/10]; meds[k]=rt[n/2]; k++;}
  double w=wall(); if((long)w!=sec){ if(k){qsort(p10s,k,sizeof(double),cmp);qsort(meds,k,sizeof(double),cmp); printf("%ld.5 %.0f %.0f %d\n",sec,p10s[k/2],meds[k/2],k); fflush(stdout);} k=0; sec=(long)w; }
  usleep(250000); }
 atomic_store(&quit,1); pthread_join(t,0); return 0; }
