//+------------------------------------------------------------------+
//| TradeFlow.mq5 - TradeFlow's Expert Advisor for MetaTrader 5       |
//| Pulls orders from TradeFlow over HTTPS (WebRequest), executes     |
//| them and reports the account. Contract: docs/ea-protocol.md.      |
//+------------------------------------------------------------------+
#property copyright "TradeFlow"
#property link      "https://tradeflow.example.com"
#property version   "1.00"
#property description "TradingView alerts -> TradeFlow -> this terminal."
#property description "Add ServerUrl to Tools > Options > Expert Advisors > Allow WebRequest."

#include <Trade\Trade.mqh>

input string ServerUrl       = "https://tradeflow.example.com"; // TradeFlow URL (also in the WebRequest list)
input string Token           = "";                              // EA token from the account page (tfea_...)
input string SymbolSuffix    = "";                              // Broker's symbol suffix, e.g. ".r"
input ulong  MagicNumber     = 20261204;                        // Magic number of TradeFlow's orders
input int    Slippage        = 20;                              // Max deviation of market orders, points
input int    MaxRetrySeconds = 30;                              // Longest wait between failed requests, s

#define EA_VERSION   "1.0.0"
#define PLATFORM     "MT5"
#define TOKEN_PREFIX "tfea_"

#define PATH_HELLO     "/api/ea/hello"
#define PATH_COMMANDS  "/api/ea/commands"
#define PATH_ACK       "/api/ea/ack"
#define PATH_HEARTBEAT "/api/ea/heartbeat"

#define ACTION_OPEN    "open"
#define ACTION_CLOSE   "close"
#define ACTION_CANCEL  "cancel"
#define ACTION_FLATTEN "flatten"

#define TYPE_MARKET "market"
#define TYPE_LIMIT  "limit"
#define TYPE_STOP   "stop"

#define SIDE_BUY  "buy"
#define SIDE_SELL "sell"

#define STATUS_FILLED           "filled"
#define STATUS_PARTIALLY_FILLED "partially_filled"
#define STATUS_ACCEPTED         "accepted"
#define STATUS_REJECTED         "rejected"
#define STATUS_EXPIRED          "expired"
#define STATUS_CANCELLED        "cancelled"

#define CODE_TOKEN_INVALID    "ea-token-invalid"
#define CODE_ACCOUNT_MISMATCH "ea-account-mismatch"
#define CODE_SESSION_REPLACED "ea-session-replaced"

// retcode_text words of ours, sent with retcode 0
#define WORD_AFTER_FAILED     "after-failed"
#define WORD_SYMBOL_NOT_FOUND "symbol-not-found"
#define WORD_TRADE_DISABLED   "trade-disabled"
#define WORD_NO_POSITION      "no-position"
#define WORD_ORDER_NOT_FOUND  "order-not-found"
#define WORD_FOUND_BY_COMMENT "found-by-comment"

#define IDS_MAX     500   // executed command ids kept in the file
#define COMMENT_MAX 31    // what MetaTrader keeps of an order comment
#define EPS         1e-8

// What the EA does with a trade request (Send).
enum TradeOp { DO_MARKET, DO_PENDING, DO_CLOSE, DO_CLOSE_PART, DO_REDUCE, DO_DELETE };

// The result of one command, turned into its acknowledgement.
struct Outcome {
   string            status;
   uint              retcode;
   string            text;
   long              ticket;
   double            volume;
   double            notional;   // sum of volume * price, for the average price
   int               pdigits;
   int               vdigits;
};

CTrade   g_trade;
string   g_base        = "";     // ServerUrl without a trailing slash
string   g_session     = "";
bool     g_hello_ok    = false;
bool     g_stopped     = false;
int      g_wait_s      = 10;
int      g_heartbeat_s = 30;
int      g_backoff_s   = 0;
uint     g_fail_tick   = 0;
bool     g_hb_sent     = false;
uint     g_hb_tick     = 0;
bool     g_hb_force    = true;
string   g_digest      = "";
uint     g_replaced_tick = 0;
int      g_replaced    = 0;
int      g_last_err    = 0;
bool     g_ids_loaded  = false;
string   g_ids_file    = "";
int      g_ids_lines   = 0;
string   g_ids[];                // executed command ids, oldest first
string   g_acks[];               // the last acknowledgement of each
string   g_track_id[];           // accepted pending orders waiting to fill
long     g_track_ticket[];
string   g_outbox[];             // acknowledgements not delivered yet

//+------------------------------------------------------------------+
//| Life                                                             |
//+------------------------------------------------------------------+
int OnInit() {
   if(StringFind(ServerUrl,"https://")!=0 && StringFind(ServerUrl,"http://")!=0) {
      Print("TradeFlow: ServerUrl must start with https:// (it is '",ServerUrl,"')");
      return(INIT_PARAMETERS_INCORRECT);
   }
   if(StringFind(Token,TOKEN_PREFIX)!=0) {
      Print("TradeFlow: paste the EA token (",TOKEN_PREFIX,"...) from TradeFlow's account page into Token");
      return(INIT_PARAMETERS_INCORRECT);
   }
   if(Slippage<0 || MaxRetrySeconds<1) {
      Print("TradeFlow: Slippage must be >= 0 and MaxRetrySeconds >= 1");
      return(INIT_PARAMETERS_INCORRECT);
   }
   g_base=ServerUrl;
   while(StringLen(g_base)>0 && StringSubstr(g_base,StringLen(g_base)-1)=="/")
      g_base=StringSubstr(g_base,0,StringLen(g_base)-1);
   // Globals survive a chart or input change: start clean.
   g_session=""; g_hello_ok=false; g_stopped=false; g_backoff_s=0; g_hb_sent=false;
   g_hb_force=true; g_replaced=0; g_last_err=0; g_ids_loaded=false;
   ArrayResize(g_ids,0); ArrayResize(g_acks,0); ArrayResize(g_outbox,0);
   ArrayResize(g_track_id,0); ArrayResize(g_track_ticket,0);

   g_trade.SetExpertMagicNumber(MagicNumber);
   g_trade.SetDeviationInPoints((ulong)Slippage);
   g_trade.SetMarginMode();
   g_trade.LogLevel(LOG_LEVEL_ERRORS);

   if(!EventSetMillisecondTimer(250)) {
      Print("TradeFlow: cannot start the timer, error ",GetLastError());
      return(INIT_FAILED);
   }
   SetStatus("starting");
   // No network yet after a terminal restart: the timer keeps trying.
   if(Ready()) {
      if(Hello())
         Ok();
      else if(!g_stopped)
         Fail();
   }
   return(INIT_SUCCEEDED);
}

void OnDeinit(const int reason) {
   EventKillTimer();
   Comment("");
}

void OnTick() {
}

void OnTradeTransaction(const MqlTradeTransaction &trans,const MqlTradeRequest &request,const MqlTradeResult &result) {
   g_hb_force=true;   // report the account at once after a trade
}

void OnTimer() {
   if(g_stopped) return;
   if(g_backoff_s>0 && Since(g_fail_tick)<(uint)g_backoff_s*1000) return;
   if(!Ready()) return;
   if(Cycle())
      Ok();
   else if(!g_stopped)
      Fail();
}

// One round: hello if needed, follow-ups, heartbeat, one long poll.
bool Cycle() {
   if(!g_hello_ok && !Hello()) return(false);
   ScanTracked();
   if(!FlushOutbox()) return(false);
   if(HeartbeatDue() && !Heartbeat()) return(false);
   return(Poll());
}

// The account is known (after a restart it may not be yet) and its ids are loaded.
bool Ready() {
   long login=AccountInfoInteger(ACCOUNT_LOGIN);
   if(login==0) {
      SetStatus("waiting for the trade account");
      return(false);
   }
   if(!g_ids_loaded)
      IdsLoad(login);
   return(true);
}

void Ok() {
   if(g_backoff_s>0)
      SetStatus("online");
   g_backoff_s=0;
}

void Fail() {
   g_backoff_s=Clamp(g_backoff_s*2,1,MaxRetrySeconds);
   g_fail_tick=GetTickCount();
   SetStatus(StringFormat("offline, next try in %d s",g_backoff_s));
}

void Stop(const string reason) {
   g_stopped=true;
   g_hello_ok=false;
   Print("TradeFlow: STOPPED - ",reason);
   SetStatus("STOPPED - "+reason+"\nFix it, then attach the EA again.");
}

void SetStatus(const string text) {
   Comment("TradeFlow EA ",EA_VERSION," (",PLATFORM,"): ",text);
}

uint Since(const uint tick) {
   return(GetTickCount()-tick);
}

//+------------------------------------------------------------------+
//| Requests                                                         |
//+------------------------------------------------------------------+
bool Hello() {
   string b="";
   JsonAddStr(b,"platform",PLATFORM);
   JsonAddInt(b,"build",TerminalInfoInteger(TERMINAL_BUILD));
   JsonAddStr(b,"ea_version",EA_VERSION);
   JsonAddInt(b,"login",AccountInfoInteger(ACCOUNT_LOGIN));
   JsonAddStr(b,"server",AccountInfoString(ACCOUNT_SERVER));
   JsonAddStr(b,"broker",AccountInfoString(ACCOUNT_COMPANY));
   JsonAddStr(b,"currency",AccountInfoString(ACCOUNT_CURRENCY));
   JsonAddInt(b,"leverage",AccountInfoInteger(ACCOUNT_LEVERAGE));
   JsonAddBool(b,"hedging",HedgingAccount());
   JsonAddInt(b,"magic",(long)MagicNumber);
   JsonAddStr(b,"suffix",SymbolSuffix);
   JsonAddBool(b,"trade_allowed",TradeAllowed());
   JsonAddInt(b,"time",(long)TimeGMT());
   string answer;
   int status=Http("POST",PATH_HELLO,"{"+b+"}",5000,answer);
   if(status!=200) return(Refused(status,answer,"hello"));
   string session=JsonGet(answer,"session");
   if(session=="") {
      Print("TradeFlow: the hello answer has no session: ",answer);
      return(false);
   }
   g_session=session;
   g_wait_s=Clamp(JsonGetInt(answer,"wait_s",10),0,60);
   g_heartbeat_s=Clamp(JsonGetInt(answer,"heartbeat_s",30),5,3600);
   g_hello_ok=true;
   g_hb_force=true;
   PrintFormat("TradeFlow: connected to %s as login %I64d, session %s",g_base,AccountInfoInteger(ACCOUNT_LOGIN),g_session);
   SetStatus("online");
   return(true);
}

bool HeartbeatDue() {
   if(!g_hb_sent) return(true);
   uint since=Since(g_hb_tick);
   if(since>=(uint)g_heartbeat_s*1000) return(true);
   if(since<1000) return(false);
   return(g_hb_force || Digest()!=g_digest);
}

bool Heartbeat() {
   string digest=Digest();
   string b="";
   JsonAddStr(b,"session",g_session);
   JsonAddStr(b,"balance",Money(AccountInfoDouble(ACCOUNT_BALANCE)));
   JsonAddStr(b,"equity",Money(AccountInfoDouble(ACCOUNT_EQUITY)));
   JsonAddStr(b,"margin",Money(AccountInfoDouble(ACCOUNT_MARGIN)));
   JsonAddStr(b,"free_margin",Money(AccountInfoDouble(ACCOUNT_MARGIN_FREE)));
   JsonAddStr(b,"currency",AccountInfoString(ACCOUNT_CURRENCY));
   JsonAddBool(b,"connected",TerminalInfoInteger(TERMINAL_CONNECTED)!=0);
   JsonAddBool(b,"trade_allowed",TradeAllowed());
   JsonAddInt(b,"time",(long)TimeGMT());
   JsonAddRaw(b,"positions",PositionsJson());
   JsonAddRaw(b,"orders",OrdersJson());
   string answer;
   int status=Http("POST",PATH_HEARTBEAT,"{"+b+"}",5000,answer);
   if(status!=200) return(Refused(status,answer,"heartbeat"));
   g_heartbeat_s=Clamp(JsonGetInt(answer,"heartbeat_s",g_heartbeat_s),5,3600);
   g_hb_sent=true;
   g_hb_tick=GetTickCount();
   g_hb_force=false;
   g_digest=digest;
   return(true);
}

bool Poll() {
   string path=PATH_COMMANDS+"?"+UrlParam("session",g_session)+"&"+UrlParam("wait",IntegerToString(g_wait_s));
   string answer;
   int status=Http("GET",path,"",(g_wait_s+5)*1000,answer);
   if(status!=200) return(Refused(status,answer,"poll"));
   uint received=GetTickCount();
   g_wait_s=Clamp(JsonGetInt(answer,"wait_s",g_wait_s),0,60);
   string cmds[];
   int n=JsonGetArray(answer,"commands",cmds);
   // Execute them all first (a flip's entry must not wait for the exit's ack).
   for(int i=0;i<n;i++) {
      string ack=Handle(cmds[i],received);
      if(ack!="")
         Enqueue(ack);
   }
   if(n>0)
      g_hb_force=true;
   return(FlushOutbox());
}

bool FlushOutbox() {
   while(ArraySize(g_outbox)>0) {
      string answer;
      int status=Http("POST",PATH_ACK,g_outbox[0],5000,answer);
      if(status==400 || status==404)
         PrintFormat("TradeFlow: ack refused (HTTP %d %s), dropped: %s",status,JsonGet(answer,"code"),g_outbox[0]);
      else if(status!=200) return(Refused(status,answer,"ack"));
      StrShift(g_outbox);
   }
   return(true);
}

void Enqueue(const string ack) {
   int n=ArraySize(g_outbox);
   for(int i=0;i<n;i++)
      if(g_outbox[i]==ack) return;
   ArrayResize(g_outbox,n+1);
   g_outbox[n]=ack;
}

// A request that did not answer 200: stop, say hello again, or retry later.
bool Refused(const int status,const string answer,const string what) {
   string code=JsonGet(answer,"code");
   if(status==401 || code==CODE_TOKEN_INVALID)
      Stop("the EA token was refused: paste the current token from TradeFlow's account page");
   else if(code==CODE_ACCOUNT_MISMATCH)
      Stop("this token belongs to another MetaTrader account (login/server)");
   else if(code==CODE_SESSION_REPLACED) {
      g_replaced=(g_replaced_tick!=0 && Since(g_replaced_tick)<60000) ? g_replaced+1 : 1;
      g_replaced_tick=GetTickCount();
      g_hello_ok=false;
      if(g_replaced>=3)
         Stop("another chart or terminal uses this token; keep one TradeFlow EA per account");
      else
         Print("TradeFlow: session replaced by a newer one, saying hello again");
   }
   else if(status>0)
      PrintFormat("TradeFlow: %s answered HTTP %d %s: %s",what,status,code,JsonGet(answer,"detail"));
   return(false);
}

int Http(const string method,const string path,const string body,const int timeout_ms,string &answer) {
   char data[];
   char result[];
   string result_headers;
   string headers="Authorization: Bearer "+Token+"\r\nContent-Type: application/json\r\nAccept: application/json\r\n";
   ArrayResize(data,0);
   if(body!="") {
      int n=StringToCharArray(body,data,0,WHOLE_ARRAY,CP_UTF8);
      if(n>0)
         ArrayResize(data,n-1);   // no trailing NUL on the wire
   }
   answer="";
   ResetLastError();
   int status=WebRequest(method,g_base+path,headers,timeout_ms,data,result,result_headers);
   if(status==-1) {
      int err=GetLastError();
      if(err!=g_last_err) {
         if(err==4014 || (err>=5200 && err<=5203))
            Print("TradeFlow: WebRequest failed (error ",err,"). Add ",g_base," to Tools > Options > Expert Advisors > ",
                  "'Allow WebRequest for listed URL', and check the terminal can reach it.");
         else
            PrintFormat("TradeFlow: WebRequest to %s failed, error %d",path,err);
      }
      g_last_err=err;
      return(-1);
   }
   g_last_err=0;
   answer=CharArrayToString(result,0,WHOLE_ARRAY,CP_UTF8);
   return(status);
}

//+------------------------------------------------------------------+
//| Commands                                                         |
//+------------------------------------------------------------------+
// The acknowledgement of one command ("" for none); executes it at most once.
string Handle(const string cmd,const uint received) {
   string id=JsonGet(cmd,"id");
   if(id=="") {
      Print("TradeFlow: a command without an id, ignored: ",cmd);
      return("");
   }
   int k=IdsFind(id);
   if(k>=0)
      return(g_acks[k]);   // executed before: the same answer again
   Outcome o;
   Execute(cmd,received,o);
   string ack=AckBody(id,o);
   IdsPut(id,ack);          // recorded before it is sent
   if(o.status==STATUS_ACCEPTED && o.ticket>0)
      Track(id,o.ticket);
   PrintFormat("TradeFlow: %s %s %s -> %s %s",id,JsonGet(cmd,"action"),JsonGet(cmd,"symbol"),o.status,o.text);
   return(ack);
}

void Execute(const string cmd,const uint received,Outcome &o) {
   OutcomeInit(o,5,2);
   string ttl=JsonGet(cmd,"ttl_ms");
   if(ttl!="" && (long)Since(received)>StringToInteger(ttl)) {
      // Too late to start it; but an open this terminal already made (its ids
      // file lost) is acknowledged from the broker, not as expired.
      string late=StringSubstr(JsonGet(cmd,"comment"),0,COMMENT_MAX);
      string late_sym=JsonGet(cmd,"symbol")+SymbolSuffix;
      if(JsonGet(cmd,"action")==ACTION_OPEN && late!="" && SymbolSelect(late_sym,true)
         && FoundByComment(late_sym,late,o))
         return;
      OutcomeSet(o,STATUS_EXPIRED,0,"");
      return;
   }
   string after=JsonGet(cmd,"after");
   if(after!="" && !WasFilled(after)) {
      OutcomeSet(o,STATUS_REJECTED,0,WORD_AFTER_FAILED);
      return;
   }
   if(!TradeAllowed()) {
      OutcomeSet(o,STATUS_REJECTED,0,WORD_TRADE_DISABLED);
      return;
   }
   string action=JsonGet(cmd,"action");
   string sym="";
   string name=JsonGet(cmd,"symbol");
   if(name!="") {
      sym=name+SymbolSuffix;
      if(!SymbolSelect(sym,true)) {
         OutcomeSet(o,STATUS_REJECTED,0,WORD_SYMBOL_NOT_FOUND);
         return;
      }
      OutcomeInit(o,(int)SymbolInfoInteger(sym,SYMBOL_DIGITS),VolDigits(SymbolInfoDouble(sym,SYMBOL_VOLUME_STEP)));
   }
   if(action==ACTION_FLATTEN)
      DoFlatten(sym,o);
   else if(action==ACTION_CANCEL)
      DoCancel(cmd,o);
   else if(sym=="" && (action==ACTION_OPEN || action==ACTION_CLOSE))
      OutcomeSet(o,STATUS_REJECTED,0,WORD_SYMBOL_NOT_FOUND);
   else if(action==ACTION_OPEN)
      DoOpen(cmd,sym,o);
   else if(action==ACTION_CLOSE)
      DoClose(cmd,sym,o);
   else
      OutcomeSet(o,STATUS_REJECTED,10013,RetcodeText(10013));
}

bool WasFilled(const string id) {
   int k=IdsFind(id);
   if(k<0) return(false);
   string status=JsonGet(g_acks[k],"status");
   return(status==STATUS_FILLED || status==STATUS_PARTIALLY_FILLED);
}

void DoOpen(const string cmd,const string sym,Outcome &o) {
   string side=JsonGet(cmd,"side");
   string type=JsonGet(cmd,"type");
   ENUM_ORDER_TYPE ot=ORDER_TYPE_BUY;
   if(!OrderTypeOf(side,type,ot)) {
      OutcomeSet(o,STATUS_REJECTED,10013,RetcodeText(10013));
      return;
   }
   string comment=StringSubstr(JsonGet(cmd,"comment"),0,COMMENT_MAX);
   // After a restart without the id file: did this order reach the broker already?
   if(comment!="" && FoundByComment(sym,comment,o)) return;
   double step=SymbolInfoDouble(sym,SYMBOL_VOLUME_STEP);
   double volume=VolumeDown(StringToDouble(JsonGet(cmd,"volume")),step);
   if(volume<=0 || volume<SymbolInfoDouble(sym,SYMBOL_VOLUME_MIN)-EPS || volume>SymbolInfoDouble(sym,SYMBOL_VOLUME_MAX)+EPS) {
      OutcomeSet(o,STATUS_REJECTED,10014,RetcodeText(10014));
      return;
   }
   int digits=(int)SymbolInfoInteger(sym,SYMBOL_DIGITS);
   double price=NormalizeDouble(StringToDouble(JsonGet(cmd,"price")),digits);
   double sl=NormalizeDouble(StringToDouble(JsonGet(cmd,"sl")),digits);
   double tp=NormalizeDouble(StringToDouble(JsonGet(cmd,"tp")),digits);
   bool market=(ot==ORDER_TYPE_BUY || ot==ORDER_TYPE_SELL);
   if(!market && price<=0) {
      OutcomeSet(o,STATUS_REJECTED,10015,RetcodeText(10015));
      return;
   }
   ulong magic=(ulong)StringToInteger(JsonGet(cmd,"magic"));
   g_trade.SetExpertMagicNumber(magic>0 ? magic : MagicNumber);
   if(market)
      WaitQuote(sym);
   uint rc=Send(market ? DO_MARKET : DO_PENDING,ot,sym,volume,price,sl,tp,comment,0);
   g_trade.SetExpertMagicNumber(MagicNumber);
   OutcomeSet(o,STATUS_REJECTED,rc,RetcodeText(rc));
   if(rc==10008 || (!market && rc==10009)) {
      o.status=STATUS_ACCEPTED;      // a pending order, or an exchange order not filled yet
      o.ticket=(long)g_trade.ResultOrder();
   }
   else if(rc==10009 || rc==10010) {
      AddDeal(o,g_trade.ResultDeal(),volume);
      o.status=(o.volume<volume-EPS) ? STATUS_PARTIALLY_FILLED : STATUS_FILLED;
   }
   else if(rc==10012 && comment!="")
      FoundByComment(sym,comment,o);   // timed out: it may have been filled all the same
}

// Close `volume` of the positions on the side opposite `side`, oldest first.
void DoClose(const string cmd,const string sym,Outcome &o) {
   string side=JsonGet(cmd,"side");
   if(side!=SIDE_BUY && side!=SIDE_SELL) {
      OutcomeSet(o,STATUS_REJECTED,10013,RetcodeText(10013));
      return;
   }
   long want=(side==SIDE_SELL) ? POSITION_TYPE_BUY : POSITION_TYPE_SELL;
   double wanted=VolumeDown(StringToDouble(JsonGet(cmd,"volume")),SymbolInfoDouble(sym,SYMBOL_VOLUME_STEP));
   bool all=(wanted<=0);   // no volume: all of that side
   double left=wanted;
   ulong tickets[];
   int n=PositionsOf(sym,want,tickets);
   if(n==0) {
      OutcomeSet(o,STATUS_REJECTED,0,WORD_NO_POSITION);
      return;
   }
   uint rc=10009;
   for(int i=0;i<n && (all || left>EPS);i++) {
      if(!PositionSelectByTicket(tickets[i])) continue;
      double pv=PositionGetDouble(POSITION_VOLUME);
      double v=all ? pv : MathMin(pv,left);
      rc=ClosePosition(tickets[i],sym,v,pv,o);
      if(rc!=10009 && rc!=10010) break;
      left-=v;
   }
   if(o.volume<=EPS)
      OutcomeSet(o,STATUS_REJECTED,rc,RetcodeText(rc));
   else {
      bool done=(rc==10009 || rc==10010) && (all || left<=EPS);
      OutcomeSet(o,done ? STATUS_FILLED : STATUS_PARTIALLY_FILLED,rc,RetcodeText(rc));
   }
}

void DoCancel(const string cmd,Outcome &o) {
   ulong ticket=(ulong)StringToInteger(JsonGet(cmd,"ticket"));
   o.ticket=(long)ticket;
   if(ticket==0 || !OrderSelect(ticket)) {
      OutcomeSet(o,STATUS_REJECTED,0,WORD_ORDER_NOT_FOUND);
      return;
   }
   uint rc=Send(DO_DELETE,ORDER_TYPE_BUY,"",0,0,0,0,"",ticket);
   OutcomeSet(o,rc==10009 ? STATUS_CANCELLED : STATUS_REJECTED,rc,RetcodeText(rc));
}

// Close every position and delete every pending order of sym ("" = all).
void DoFlatten(const string sym,Outcome &o) {
   uint rc=10009;
   bool failed=false;
   for(int pass=0;pass<3;pass++) {
      failed=false;
      ulong tickets[];
      int n=PositionsOf(sym,-1,tickets);
      for(int i=0;i<n;i++) {
         if(!PositionSelectByTicket(tickets[i])) continue;
         double pv=PositionGetDouble(POSITION_VOLUME);
         uint r=ClosePosition(tickets[i],PositionGetString(POSITION_SYMBOL),pv,pv,o);
         if(r!=10009 && r!=10010 && r!=10036) {
            failed=true;
            rc=r;
         }
      }
      ulong orders[];
      int m=OrdersOf(sym,orders);
      for(int j=0;j<m;j++) {
         uint r=Send(DO_DELETE,ORDER_TYPE_BUY,"",0,0,0,0,"",orders[j]);
         if(r!=10009 && r!=10036) {
            failed=true;
            rc=r;
         }
      }
      if(!failed) break;
      Sleep(300);
   }
   o.ticket=0;
   if(sym=="")
      o.notional=0;   // no one price across symbols
   if(!failed)
      OutcomeSet(o,STATUS_FILLED,10009,RetcodeText(10009));
   else
      OutcomeSet(o,o.volume>EPS ? STATUS_PARTIALLY_FILLED : STATUS_REJECTED,rc,RetcodeText(rc));
}

// Close v lots of the selected position (pv lots): hedging or netting.
uint ClosePosition(const ulong ticket,const string sym,const double v,const double pv,Outcome &o) {
   ENUM_ORDER_TYPE ot=(PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY) ? ORDER_TYPE_SELL : ORDER_TYPE_BUY;
   TradeOp op=DO_CLOSE;
   if(v<pv-EPS)
      op=HedgingAccount() ? DO_CLOSE_PART : DO_REDUCE;
   WaitQuote(sym);
   uint rc=Send(op,ot,sym,v,0,0,0,"",ticket);
   if(rc==10009 || rc==10010) {
      if(o.ticket==0)
         o.ticket=(long)ticket;
      AddDeal(o,g_trade.ResultDeal(),v);
   }
   return(rc);
}

// One trade request, with the filling fallback FOK -> IOC -> RETURN and
// up to three tries on a requote.
uint Send(const TradeOp op,const ENUM_ORDER_TYPE ot,const string sym,const double vol,const double price,
          const double sl,const double tp,const string comment,const ulong ticket) {
   for(int attempt=0;attempt<3;attempt++) {
      for(int f=0;f<3;f++) {
         if((op==DO_CLOSE || op==DO_CLOSE_PART) && !PositionSelectByTicket(ticket))
            return(10036);   // TRADE_RETCODE_POSITION_CLOSED
         if(op==DO_DELETE && !OrderSelect(ticket)) return(10036);
         g_trade.SetTypeFilling(FillingAt(f));
         switch(op) {
            case DO_MARKET:
               if(ot==ORDER_TYPE_BUY)
                  g_trade.Buy(vol,sym,0.0,sl,tp,comment);
               else
                  g_trade.Sell(vol,sym,0.0,sl,tp,comment);
               break;
            case DO_PENDING:
               g_trade.OrderOpen(sym,ot,vol,0.0,price,sl,tp,ORDER_TIME_GTC,0,comment);
               break;
            case DO_CLOSE:
               g_trade.PositionClose(ticket,(ulong)Slippage);
               break;
            case DO_CLOSE_PART:
               g_trade.PositionClosePartial(ticket,vol,(ulong)Slippage);
               break;
            case DO_REDUCE:   // netting: an opposite deal reduces the position
               if(ot==ORDER_TYPE_BUY)
                  g_trade.Buy(vol,sym);
               else
                  g_trade.Sell(vol,sym);
               break;
            case DO_DELETE:
               g_trade.OrderDelete(ticket);
               break;
         }
         if(g_trade.ResultRetcode()!=10030)   // TRADE_RETCODE_INVALID_FILL
            break;
      }
      uint rc=g_trade.ResultRetcode();
      if(rc!=10004 && rc!=10020 && rc!=10021)   // requote, price changed, off quotes
         return(rc);
      Sleep(200);
   }
   return(g_trade.ResultRetcode());
}

ENUM_ORDER_TYPE_FILLING FillingAt(const int i) {
   if(i==0) return(ORDER_FILLING_FOK);
   if(i==1) return(ORDER_FILLING_IOC);
   return(ORDER_FILLING_RETURN);
}

bool OrderTypeOf(const string side,const string type,ENUM_ORDER_TYPE &ot) {
   bool buy=(side==SIDE_BUY);
   if(!buy && side!=SIDE_SELL) return(false);
   if(type==TYPE_MARKET || type=="")
      ot=buy ? ORDER_TYPE_BUY : ORDER_TYPE_SELL;
   else if(type==TYPE_LIMIT)
      ot=buy ? ORDER_TYPE_BUY_LIMIT : ORDER_TYPE_SELL_LIMIT;
   else if(type==TYPE_STOP)
      ot=buy ? ORDER_TYPE_BUY_STOP : ORDER_TYPE_SELL_STOP;
   else
      return(false);
   return(true);
}

// An open position, pending order or recent entry deal carrying this comment.
bool FoundByComment(const string sym,const string comment,Outcome &o) {
   for(int i=PositionsTotal()-1;i>=0;i--) {
      ulong t=PositionGetTicket(i);
      if(t==0 || PositionGetString(POSITION_SYMBOL)!=sym || PositionGetString(POSITION_COMMENT)!=comment)
         continue;
      OutcomeSet(o,STATUS_FILLED,0,WORD_FOUND_BY_COMMENT);
      o.ticket=(long)t;
      OutcomeFill(o,PositionGetDouble(POSITION_VOLUME),PositionGetDouble(POSITION_PRICE_OPEN));
      return(true);
   }
   for(int i=OrdersTotal()-1;i>=0;i--) {
      ulong t=OrderGetTicket(i);
      if(t==0 || OrderGetString(ORDER_SYMBOL)!=sym || OrderGetString(ORDER_COMMENT)!=comment) continue;
      OutcomeSet(o,STATUS_ACCEPTED,0,WORD_FOUND_BY_COMMENT);
      o.ticket=(long)t;
      return(true);
   }
   datetime now=TimeCurrent();
   if(!HistorySelect(now-86400,now+86400)) return(false);
   for(int i=HistoryDealsTotal()-1;i>=0;i--) {
      ulong d=HistoryDealGetTicket(i);
      if(d==0 || HistoryDealGetString(d,DEAL_SYMBOL)!=sym || HistoryDealGetString(d,DEAL_COMMENT)!=comment)
         continue;
      if(HistoryDealGetInteger(d,DEAL_ENTRY)!=DEAL_ENTRY_IN) continue;
      OutcomeSet(o,STATUS_FILLED,0,WORD_FOUND_BY_COMMENT);
      o.ticket=HistoryDealGetInteger(d,DEAL_POSITION_ID);
      OutcomeFill(o,HistoryDealGetDouble(d,DEAL_VOLUME),HistoryDealGetDouble(d,DEAL_PRICE));
      return(true);
   }
   return(false);
}

// Accepted pending orders that filled or went: acknowledge them once more.
void ScanTracked() {
   for(int i=ArraySize(g_track_id)-1;i>=0;i--) {
      ulong t=(ulong)g_track_ticket[i];
      if(OrderSelect(t))
         continue;               // still working
      if(!HistoryOrderSelect(t))
         continue;               // not in the history yet
      string sym=HistoryOrderGetString(t,ORDER_SYMBOL);
      double filled=HistoryOrderGetDouble(t,ORDER_VOLUME_INITIAL)-HistoryOrderGetDouble(t,ORDER_VOLUME_CURRENT);
      double open=HistoryOrderGetDouble(t,ORDER_PRICE_OPEN);
      bool whole=(HistoryOrderGetDouble(t,ORDER_VOLUME_CURRENT)<=EPS);
      long position=HistoryOrderGetInteger(t,ORDER_POSITION_ID);
      Outcome o;
      OutcomeInit(o,(int)SymbolInfoInteger(sym,SYMBOL_DIGITS),VolDigits(SymbolInfoDouble(sym,SYMBOL_VOLUME_STEP)));
      o.ticket=(position>0) ? position : (long)t;
      if(filled>EPS) {
         if(position>0 && HistorySelectByPosition(position))
            for(int d=HistoryDealsTotal()-1;d>=0;d--) {
               ulong deal=HistoryDealGetTicket(d);
               if(deal>0 && (ulong)HistoryDealGetInteger(deal,DEAL_ORDER)==t)
                  OutcomeFill(o,HistoryDealGetDouble(deal,DEAL_VOLUME),HistoryDealGetDouble(deal,DEAL_PRICE));
            }
         if(o.volume<=EPS)
            OutcomeFill(o,filled,open);
         OutcomeSet(o,whole ? STATUS_FILLED : STATUS_PARTIALLY_FILLED,10009,RetcodeText(10009));
      }
      else
         OutcomeSet(o,STATUS_CANCELLED,0,"");
      string ack=AckBody(g_track_id[i],o);
      IdsPut(g_track_id[i],ack);
      Enqueue(ack);
      Untrack(i);
      g_hb_force=true;
   }
}

void Track(const string id,const long ticket) {
   int n=ArraySize(g_track_id);
   ArrayResize(g_track_id,n+1);
   ArrayResize(g_track_ticket,n+1);
   g_track_id[n]=id;
   g_track_ticket[n]=ticket;
}

void Untrack(const int i) {
   int last=ArraySize(g_track_id)-1;
   g_track_id[i]=g_track_id[last];
   g_track_ticket[i]=g_track_ticket[last];
   ArrayResize(g_track_id,last);
   ArrayResize(g_track_ticket,last);
}

//+------------------------------------------------------------------+
//| Account                                                          |
//+------------------------------------------------------------------+
// Tickets of the positions of sym ("" = all) of one type (-1 = both), oldest first.
int PositionsOf(const string sym,const long want,ulong &tickets[]) {
   long times[];
   ArrayResize(tickets,0);
   ArrayResize(times,0);
   for(int i=PositionsTotal()-1;i>=0;i--) {
      ulong t=PositionGetTicket(i);
      if(t==0 || (sym!="" && PositionGetString(POSITION_SYMBOL)!=sym)) continue;
      if(want>=0 && PositionGetInteger(POSITION_TYPE)!=want) continue;
      int n=ArraySize(tickets);
      ArrayResize(tickets,n+1);
      ArrayResize(times,n+1);
      tickets[n]=t;
      times[n]=PositionGetInteger(POSITION_TIME_MSC);
   }
   int count=ArraySize(tickets);
   for(int a=1;a<count;a++) {        // insertion sort by opening time
      ulong t=tickets[a];
      long when=times[a];
      int b=a-1;
      while(b>=0 && times[b]>when) {
         tickets[b+1]=tickets[b];
         times[b+1]=times[b];
         b--;
      }
      tickets[b+1]=t;
      times[b+1]=when;
   }
   return(count);
}

bool IsPending(const long type) {
   return(type==ORDER_TYPE_BUY_LIMIT || type==ORDER_TYPE_SELL_LIMIT || type==ORDER_TYPE_BUY_STOP ||
          type==ORDER_TYPE_SELL_STOP || type==ORDER_TYPE_BUY_STOP_LIMIT || type==ORDER_TYPE_SELL_STOP_LIMIT);
}

int OrdersOf(const string sym,ulong &tickets[]) {
   ArrayResize(tickets,0);
   for(int i=OrdersTotal()-1;i>=0;i--) {
      ulong t=OrderGetTicket(i);
      if(t==0 || (sym!="" && OrderGetString(ORDER_SYMBOL)!=sym) || !IsPending(OrderGetInteger(ORDER_TYPE)))
         continue;
      int n=ArraySize(tickets);
      ArrayResize(tickets,n+1);
      tickets[n]=t;
   }
   return(ArraySize(tickets));
}

string PositionsJson() {
   string rows="";
   for(int i=0;i<PositionsTotal();i++) {
      ulong t=PositionGetTicket(i);
      if(t==0) continue;
      string sym=PositionGetString(POSITION_SYMBOL);
      int d=(int)SymbolInfoInteger(sym,SYMBOL_DIGITS);
      string p="";
      JsonAddStr(p,"ticket",IntegerToString((long)t));
      JsonAddStr(p,"symbol",StripSuffix(sym));
      JsonAddStr(p,"side",PositionGetInteger(POSITION_TYPE)==POSITION_TYPE_BUY ? SIDE_BUY : SIDE_SELL);
      JsonAddStr(p,"volume",Lots(sym,PositionGetDouble(POSITION_VOLUME)));
      JsonAddStr(p,"price",DoubleToString(PositionGetDouble(POSITION_PRICE_OPEN),d));
      JsonAddStr(p,"sl",DoubleToString(PositionGetDouble(POSITION_SL),d));
      JsonAddStr(p,"tp",DoubleToString(PositionGetDouble(POSITION_TP),d));
      JsonAddStr(p,"profit",Money(PositionGetDouble(POSITION_PROFIT)));
      JsonAddStr(p,"magic",IntegerToString(PositionGetInteger(POSITION_MAGIC)));
      JsonAddStr(p,"comment",PositionGetString(POSITION_COMMENT));
      rows+=(rows=="" ? "" : ",")+"{"+p+"}";
   }
   return("["+rows+"]");
}

string OrdersJson() {
   string rows="";
   for(int i=0;i<OrdersTotal();i++) {
      ulong t=OrderGetTicket(i);
      if(t==0) continue;
      long type=OrderGetInteger(ORDER_TYPE);
      if(!IsPending(type)) continue;
      string sym=OrderGetString(ORDER_SYMBOL);
      bool buy=(type==ORDER_TYPE_BUY_LIMIT || type==ORDER_TYPE_BUY_STOP || type==ORDER_TYPE_BUY_STOP_LIMIT);
      bool limit=(type==ORDER_TYPE_BUY_LIMIT || type==ORDER_TYPE_SELL_LIMIT);
      string p="";
      JsonAddStr(p,"ticket",IntegerToString((long)t));
      JsonAddStr(p,"symbol",StripSuffix(sym));
      JsonAddStr(p,"side",buy ? SIDE_BUY : SIDE_SELL);
      JsonAddStr(p,"type",limit ? TYPE_LIMIT : TYPE_STOP);   // stop-limit reported as stop
      JsonAddStr(p,"volume",Lots(sym,OrderGetDouble(ORDER_VOLUME_CURRENT)));
      JsonAddStr(p,"price",DoubleToString(OrderGetDouble(ORDER_PRICE_OPEN),(int)SymbolInfoInteger(sym,SYMBOL_DIGITS)));
      JsonAddStr(p,"magic",IntegerToString(OrderGetInteger(ORDER_MAGIC)));
      JsonAddStr(p,"comment",OrderGetString(ORDER_COMMENT));
      rows+=(rows=="" ? "" : ",")+"{"+p+"}";
   }
   return("["+rows+"]");
}

// Changes when positions, orders or the balance change: an early heartbeat.
string Digest() {
   double lots=0;
   for(int i=PositionsTotal()-1;i>=0;i--)
      if(PositionGetTicket(i)>0)
         lots+=PositionGetDouble(POSITION_VOLUME);
   for(int i=OrdersTotal()-1;i>=0;i--)
      if(OrderGetTicket(i)>0)
         lots+=OrderGetDouble(ORDER_VOLUME_CURRENT);
   return(StringFormat("%d/%d/%.8f/%.2f",PositionsTotal(),OrdersTotal(),lots,AccountInfoDouble(ACCOUNT_BALANCE)));
}

bool HedgingAccount() {
   return((ENUM_ACCOUNT_MARGIN_MODE)AccountInfoInteger(ACCOUNT_MARGIN_MODE)==ACCOUNT_MARGIN_MODE_RETAIL_HEDGING);
}

bool TradeAllowed() {
   return(TerminalInfoInteger(TERMINAL_TRADE_ALLOWED)!=0 && MQLInfoInteger(MQL_TRADE_ALLOWED)!=0 &&
          AccountInfoInteger(ACCOUNT_TRADE_ALLOWED)!=0 && AccountInfoInteger(ACCOUNT_TRADE_EXPERT)!=0);
}

string StripSuffix(const string sym) {
   int n=StringLen(sym), k=StringLen(SymbolSuffix);
   if(k>0 && n>k && StringSubstr(sym,n-k)==SymbolSuffix) return(StringSubstr(sym,0,n-k));
   return(sym);
}

void WaitQuote(const string sym) {
   for(int i=0;i<10 && SymbolInfoDouble(sym,SYMBOL_BID)<=0;i++)
      Sleep(50);
}

//+------------------------------------------------------------------+
//| Outcomes and acknowledgements                                    |
//+------------------------------------------------------------------+
void OutcomeInit(Outcome &o,const int pdigits,const int vdigits) {
   o.status=STATUS_REJECTED;
   o.retcode=0;
   o.text="";
   o.ticket=0;
   o.volume=0;
   o.notional=0;
   o.pdigits=pdigits;
   o.vdigits=vdigits;
}

void OutcomeSet(Outcome &o,const string status,const uint retcode,const string text) {
   o.status=status;
   o.retcode=retcode;
   o.text=text;
}

void OutcomeFill(Outcome &o,const double volume,const double price) {
   o.volume+=volume;
   o.notional+=volume*price;
}

// Adds the deal of the last request (or the result's own numbers).
void AddDeal(Outcome &o,const ulong deal,const double requested) {
   if(deal>0 && HistoryDealSelect(deal)) {
      OutcomeFill(o,HistoryDealGetDouble(deal,DEAL_VOLUME),HistoryDealGetDouble(deal,DEAL_PRICE));
      if(o.ticket==0)
         o.ticket=HistoryDealGetInteger(deal,DEAL_POSITION_ID);
      return;
   }
   double v=g_trade.ResultVolume();
   OutcomeFill(o,v>0 ? v : requested,g_trade.ResultPrice());
   if(o.ticket==0)
      o.ticket=(long)g_trade.ResultOrder();
}

string AckBody(const string id,const Outcome &o) {
   double price=(o.volume>EPS) ? o.notional/o.volume : 0.0;
   string b="";
   JsonAddStr(b,"id",id);
   JsonAddStr(b,"status",o.status);
   JsonAddInt(b,"retcode",(long)o.retcode);
   JsonAddStr(b,"retcode_text",o.text);
   JsonAddStr(b,"ticket",o.ticket>0 ? IntegerToString(o.ticket) : "");
   JsonAddStr(b,"volume",DoubleToString(o.volume,o.vdigits));
   JsonAddStr(b,"price",DoubleToString(price,o.pdigits));
   JsonAddInt(b,"time",(long)TimeGMT());
   return("{"+b+"}");
}

string RetcodeText(const uint rc) {
   switch(rc) {
      case 0:     return("");
      case 10004: return("TRADE_RETCODE_REQUOTE");
      case 10006: return("TRADE_RETCODE_REJECT");
      case 10007: return("TRADE_RETCODE_CANCEL");
      case 10008: return("TRADE_RETCODE_PLACED");
      case 10009: return("TRADE_RETCODE_DONE");
      case 10010: return("TRADE_RETCODE_DONE_PARTIAL");
      case 10011: return("TRADE_RETCODE_ERROR");
      case 10012: return("TRADE_RETCODE_TIMEOUT");
      case 10013: return("TRADE_RETCODE_INVALID");
      case 10014: return("TRADE_RETCODE_INVALID_VOLUME");
      case 10015: return("TRADE_RETCODE_INVALID_PRICE");
      case 10016: return("TRADE_RETCODE_INVALID_STOPS");
      case 10017: return("TRADE_RETCODE_TRADE_DISABLED");
      case 10018: return("TRADE_RETCODE_MARKET_CLOSED");
      case 10019: return("TRADE_RETCODE_NO_MONEY");
      case 10020: return("TRADE_RETCODE_PRICE_CHANGED");
      case 10021: return("TRADE_RETCODE_PRICE_OFF");
      case 10022: return("TRADE_RETCODE_INVALID_EXPIRATION");
      case 10024: return("TRADE_RETCODE_TOO_MANY_REQUESTS");
      case 10026: return("TRADE_RETCODE_SERVER_DISABLES_AT");
      case 10027: return("TRADE_RETCODE_CLIENT_DISABLES_AT");
      case 10028: return("TRADE_RETCODE_LOCKED");
      case 10029: return("TRADE_RETCODE_FROZEN");
      case 10030: return("TRADE_RETCODE_INVALID_FILL");
      case 10031: return("TRADE_RETCODE_CONNECTION");
      case 10033: return("TRADE_RETCODE_LIMIT_ORDERS");
      case 10034: return("TRADE_RETCODE_LIMIT_VOLUME");
      case 10035: return("TRADE_RETCODE_INVALID_ORDER");
      case 10036: return("TRADE_RETCODE_POSITION_CLOSED");
      case 10040: return("TRADE_RETCODE_LIMIT_POSITIONS");
      case 10042: return("TRADE_RETCODE_LONG_ONLY");
      case 10043: return("TRADE_RETCODE_SHORT_ONLY");
      case 10044: return("TRADE_RETCODE_CLOSE_ONLY");
      case 10045: return("TRADE_RETCODE_FIFO_CLOSE");
      case 10046: return("TRADE_RETCODE_HEDGE_PROHIBITED");
   }
   return("TRADE_RETCODE_"+IntegerToString(rc));
}

//+------------------------------------------------------------------+
//| The executed-ids file: "<id>\t<ack json>" lines, last one wins    |
//+------------------------------------------------------------------+
void IdsLoad(const long login) {
   g_ids_loaded=true;
   g_ids_file="TradeFlow-"+IntegerToString(login)+".ids";
   g_ids_lines=0;
   ArrayResize(g_ids,0);
   ArrayResize(g_acks,0);
   ArrayResize(g_track_id,0);
   ArrayResize(g_track_ticket,0);
   int h=FileOpen(g_ids_file,FILE_READ|FILE_TXT|FILE_ANSI|FILE_SHARE_READ);
   if(h==INVALID_HANDLE)
      return;                 // first start on this account
   while(!FileIsEnding(h)) {
      string line=FileReadString(h);
      int tab=StringFind(line,"\t");
      if(tab<=0) continue;
      g_ids_lines++;
      Remember(StringSubstr(line,0,tab),StringSubstr(line,tab+1));
   }
   FileClose(h);
   if(g_ids_lines>ArraySize(g_ids))
      IdsRewrite();
   for(int k=0;k<ArraySize(g_ids);k++)
      if(JsonGet(g_acks[k],"status")==STATUS_ACCEPTED)
         Track(g_ids[k],StringToInteger(JsonGet(g_acks[k],"ticket")));
   PrintFormat("TradeFlow: %d executed commands remembered in %s",ArraySize(g_ids),g_ids_file);
}

int IdsFind(const string id) {
   for(int k=ArraySize(g_ids)-1;k>=0;k--)
      if(g_ids[k]==id) return(k);
   return(-1);
}

void Remember(const string id,const string ack) {
   int k=IdsFind(id);
   if(k<0) {
      k=ArraySize(g_ids);
      ArrayResize(g_ids,k+1);
      ArrayResize(g_acks,k+1);
      g_ids[k]=id;
   }
   g_acks[k]=ack;
   while(ArraySize(g_ids)>IDS_MAX) {
      StrShift(g_ids);
      StrShift(g_acks);
   }
}

void IdsPut(const string id,const string ack) {
   Remember(id,ack);
   int h=FileOpen(g_ids_file,FILE_READ|FILE_WRITE|FILE_TXT|FILE_ANSI|FILE_SHARE_READ);
   if(h==INVALID_HANDLE) {
      PrintFormat("TradeFlow: cannot write %s (error %d): a restart may repeat %s",g_ids_file,GetLastError(),id);
      return;
   }
   FileSeek(h,0,SEEK_END);
   FileWrite(h,id+"\t"+ack);
   FileClose(h);
   g_ids_lines++;
   if(g_ids_lines>2*IDS_MAX)
      IdsRewrite();
}

// Keeps only the remembered entries: written aside, then moved over the file.
void IdsRewrite() {
   string tmp=g_ids_file+".tmp";
   int h=FileOpen(tmp,FILE_WRITE|FILE_TXT|FILE_ANSI);
   if(h==INVALID_HANDLE) return;
   for(int k=0;k<ArraySize(g_ids);k++)
      FileWrite(h,g_ids[k]+"\t"+g_acks[k]);
   FileClose(h);
   if(FileMove(tmp,0,g_ids_file,FILE_REWRITE))
      g_ids_lines=ArraySize(g_ids);
}

void StrShift(string &a[]) {
   int n=ArraySize(a);
   for(int i=1;i<n;i++)
      a[i-1]=a[i];
   if(n>0)
      ArrayResize(a,n-1);
}

//+------------------------------------------------------------------+
//| Numbers                                                          |
//+------------------------------------------------------------------+
double VolumeDown(const double v,const double step) {
   if(v<=0) return(0);
   if(step<=0) return(v);
   return(NormalizeDouble(MathFloor(v/step+1e-7)*step,VolDigits(step)));
}

int VolDigits(const double step) {
   for(int d=0;d<8;d++) {
      double x=step*MathPow(10,d);
      if(MathAbs(x-MathRound(x))<1e-7) return(d);
   }
   return(8);
}

string Lots(const string sym,const double v) {
   return(DoubleToString(v,VolDigits(SymbolInfoDouble(sym,SYMBOL_VOLUME_STEP))));
}

int Clamp(const int v,const int lo,const int hi) {
   return(v<lo ? lo : (v>hi ? hi : v));
}

string Money(const double v) {
   return(DoubleToString(v,2));
}

//+------------------------------------------------------------------+
//| JSON and URLs: flat, ASCII, hand-written                          |
//+------------------------------------------------------------------+
bool IsSpace(const ushort c) {
   return(c==' ' || c=='\t' || c=='\r' || c=='\n');
}

// The value of "key" anywhere in body, quoted or bare ("" when absent or null).
string JsonGet(const string body,const string key) {
   string pat="\""+key+"\"";
   int len=StringLen(body);
   int pos=StringFind(body,pat,0);
   while(pos>=0) {
      int i=pos+StringLen(pat);
      while(i<len && IsSpace(StringGetCharacter(body,i)))
         i++;
      if(i<len && StringGetCharacter(body,i)==':') {
         i++;
         while(i<len && IsSpace(StringGetCharacter(body,i)))
            i++;
         if(i<len && StringGetCharacter(body,i)=='"') return(JsonString(body,i));
         int j=i;
         while(j<len) {
            ushort c=StringGetCharacter(body,j);
            if(c==',' || c=='}' || c==']' || IsSpace(c)) break;
            j++;
         }
         string bare=StringSubstr(body,i,j-i);
         return(bare=="null" ? "" : bare);
      }
      pos=StringFind(body,pat,pos+1);
   }
   return("");
}

int JsonGetInt(const string body,const string key,const int fallback) {
   string v=JsonGet(body,key);
   return(v=="" ? fallback : (int)StringToInteger(v));
}

// The quoted string starting at body[start] == '"', unescaped.
string JsonString(const string body,const int start) {
   string out="";
   int len=StringLen(body);
   for(int i=start+1;i<len;i++) {
      ushort c=StringGetCharacter(body,i);
      if(c=='"') break;
      if(c=='\\' && i+1<len) {
         i++;
         ushort e=StringGetCharacter(body,i);
         if(e=='n')
            out+="\n";
         else if(e=='t')
            out+="\t";
         else if(e=='r')
            out+="\r";
         else if(e=='u') {
            out+="?";
            i+=4;
         }
         else
            out+=ShortToString(e);
         continue;
      }
      out+=ShortToString(c);
   }
   return(out);
}

// The objects of the array "key", each as its own flat JSON text.
int JsonGetArray(const string body,const string key,string &items[]) {
   ArrayResize(items,0);
   string pat="\""+key+"\"";
   int pos=StringFind(body,pat,0);
   if(pos<0) return(0);
   int i=StringFind(body,"[",pos+StringLen(pat));
   if(i<0) return(0);
   int len=StringLen(body), depth=0, begin=-1;
   bool in_str=false;
   for(i=i+1;i<len;i++) {
      ushort c=StringGetCharacter(body,i);
      if(in_str) {
         if(c=='\\')
            i++;
         else if(c=='"')
            in_str=false;
         continue;
      }
      if(c=='"')
         in_str=true;
      else if(c=='{') {
         if(depth==0)
            begin=i;
         depth++;
      }
      else if(c=='}') {
         depth--;
         if(depth==0 && begin>=0) {
            int n=ArraySize(items);
            ArrayResize(items,n+1);
            items[n]=StringSubstr(body,begin,i-begin+1);
            begin=-1;
         }
      }
      else if(c==']' && depth==0) break;
   }
   return(ArraySize(items));
}

string JsonEsc(const string s) {
   string out="";
   int len=StringLen(s);
   for(int i=0;i<len;i++) {
      ushort c=StringGetCharacter(s,i);
      if(c=='"' || c=='\\')
         out+="\\"+ShortToString(c);
      else if(c<32 || c>126)
         out+="?";            // ASCII only
      else
         out+=ShortToString(c);
   }
   return(out);
}

void JsonKey(string &out,const string key) {
   if(out!="")
      out+=",";
   out+="\""+key+"\":";
}

void JsonAddStr(string &out,const string key,const string value) {
   JsonKey(out,key);
   out+="\""+JsonEsc(value)+"\"";
}

void JsonAddInt(string &out,const string key,const long value) {
   JsonKey(out,key);
   out+=IntegerToString(value);
}

void JsonAddBool(string &out,const string key,const bool value) {
   JsonKey(out,key);
   out+=(value ? "true" : "false");
}

void JsonAddRaw(string &out,const string key,const string raw) {
   JsonKey(out,key);
   out+=raw;
}

string UrlParam(const string key,const string value) {
   string out="";
   int len=StringLen(value);
   for(int i=0;i<len;i++) {
      ushort c=StringGetCharacter(value,i);
      if((c>='a' && c<='z') || (c>='A' && c<='Z') || (c>='0' && c<='9') || c=='-' || c=='_' || c=='.' || c=='~')
         out+=ShortToString(c);
      else
         out+=StringFormat("%%%02X",c&0xFF);
   }
   return(key+"="+out);
}
//+------------------------------------------------------------------+
